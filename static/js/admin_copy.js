// Copy buttons in the admin: <button data-copy-text="…"> puts its value on the clipboard.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy-text]");
  if (!button) {
    return;
  }
  event.preventDefault();
  const label = button.textContent;
  navigator.clipboard.writeText(button.dataset.copyText).then(
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
