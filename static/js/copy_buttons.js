// Copy buttons (no inline script; CSP script-src 'self'), for the admin and the email snippet.
//   <button data-copy-text="…">      copies that text;
//   <button data-copy-from="text">   copies the value of [data-copy-source="text"] in the same
//                                    [data-copy-scope];
//   <button data-copy-from="rich">   copies the formatted HTML of [data-copy-source="rich"] (with
//                                    the plain text as fallback), so it pastes into a mail client
//                                    with working links.
"use strict";

(() => {
  if (window.copyButtonsReady) {
    return; // the script may be included more than once on a page
  }
  window.copyButtonsReady = true;

  const clipboard = window.isSecureContext && navigator.clipboard;

  function source(scope, kind) {
    return scope.querySelector(`[data-copy-source="${kind}"]`);
  }

  // Without the clipboard API (plain HTTP on another host): select the node and copy the selection.
  function copySelection(node) {
    const selection = window.getSelection();
    const range = document.createRange();
    range.selectNodeContents(node);
    selection.removeAllRanges();
    selection.addRange(range);
    const ok = document.execCommand("copy");
    selection.removeAllRanges();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyText(text) {
    if (clipboard) {
      return clipboard.writeText(text);
    }
    const holder = document.createElement("pre");
    holder.textContent = text;
    document.body.appendChild(holder);
    const done = copySelection(holder);
    holder.remove();
    return done;
  }

  function copy(button) {
    if (button.dataset.copyText !== undefined) {
      return copyText(button.dataset.copyText);
    }
    const scope = button.closest("[data-copy-scope]");
    const kind = button.dataset.copyFrom;
    if (kind !== "rich") {
      return copyText(source(scope, kind).value);
    }
    const text = source(scope, "text").value;
    if (!clipboard || !window.ClipboardItem) {
      return clipboard ? clipboard.writeText(text) : copySelection(source(scope, "rich"));
    }
    // The preview hides the e-mail's decoy link with the hidden attribute (the page has no inline
    // styles); the copied e-mail hides it with the inline style that mail clients honour.
    const rich = source(scope, "rich").cloneNode(true);
    rich.querySelectorAll("[data-decoy-style]").forEach((node) => {
      node.removeAttribute("hidden");
      node.setAttribute("style", node.dataset.decoyStyle);
      node.removeAttribute("data-decoy-style");
    });
    const html = rich.innerHTML;
    return clipboard.write([
      new ClipboardItem({
        "text/html": new Blob([html], { type: "text/html" }),
        "text/plain": new Blob([text], { type: "text/plain" }),
      }),
    ]);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy-text], button[data-copy-from]");
    if (!button) {
      return;
    }
    event.preventDefault();
    const label = button.textContent;
    copy(button).then(
      () => {
        button.textContent = "Copied";
        setTimeout(() => {
          button.textContent = label;
        }, 1500);
      },
      () => {
        button.textContent = "Copy failed";
      },
    );
  });
})();
