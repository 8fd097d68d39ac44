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

  function source(scope, kind) {
    return scope.querySelector(`[data-copy-source="${kind}"]`);
  }

  function copy(button) {
    if (button.dataset.copyText !== undefined) {
      return navigator.clipboard.writeText(button.dataset.copyText);
    }
    const scope = button.closest("[data-copy-scope]");
    const kind = button.dataset.copyFrom;
    if (kind !== "rich") {
      return navigator.clipboard.writeText(source(scope, kind).value);
    }
    const html = source(scope, "rich").innerHTML;
    const text = source(scope, "text").value;
    if (!window.ClipboardItem) {
      return navigator.clipboard.writeText(text);
    }
    return navigator.clipboard.write([
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
