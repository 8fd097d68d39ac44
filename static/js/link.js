/* Link page: charts, and the copy button for the redirect URL. */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP fallback (clipboard API needs a secure context): select and copy.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    var status = button.parentNode.querySelector("[data-copy-status]");
    button.addEventListener("click", function () {
      copyText(source.textContent.trim()).then(
        function () { status.textContent = "Copied"; },
        function () { status.textContent = "Select the URL and copy it"; }
      );
    });
  });

  window.LinktrackDashboard.start();
})();
