// Admin forms: a select of standard values with "Other", and a text box for one's own value
// (tracking.admin.ChoiceOrOtherWidget). The text box shows only while "Other" is selected.
"use strict";

(() => {
  const OTHER = "__other__";

  function sync(select) {
    const other = select.parentElement.querySelector('[data-choice-or-other="other"]');
    if (!other) {
      return;
    }
    const chosen = select.value === OTHER;
    other.hidden = !chosen;
    other.required = chosen;
    if (!chosen) {
      other.value = "";
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const select of document.querySelectorAll('[data-choice-or-other="select"]')) {
      sync(select);
      select.addEventListener("change", () => {
        sync(select);
        if (select.value === OTHER) {
          select.parentElement.querySelector('[data-choice-or-other="other"]').focus();
        }
      });
    }
  });
})();
