// Copy buttons of the email snippet (templates/tracking/email_snippet.html).
// "Copy email" puts the formatted email on the clipboard (HTML, with plain text as fallback) so it
// pastes into a mail client with working links; the other buttons copy a textarea's text.
"use strict";

(() => {
  if (window.emailSnippetReady) {
    return; // the snippet may be included more than once on a page
  }
  window.emailSnippetReady = true;

  function copyRich(section) {
    const html = section.querySelector('[data-email-copy-source="rich"]').innerHTML;
    const text = section.querySelector('[data-email-copy-source="text"]').value;
    if (window.ClipboardItem) {
      return navigator.clipboard.write([
        new ClipboardItem({
          "text/html": new Blob([html], { type: "text/html" }),
          "text/plain": new Blob([text], { type: "text/plain" }),
        }),
      ]);
    }
    return navigator.clipboard.writeText(text);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-email-copy]");
    const section = button && button.closest("[data-email-snippet]");
    if (!section) {
      return;
    }
    const kind = button.dataset.emailCopy;
    const done =
      kind === "rich"
        ? copyRich(section)
        : navigator.clipboard.writeText(
            section.querySelector(`[data-email-copy-source="${kind}"]`).value,
          );
    const label = button.textContent;
    done.then(
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
