/* Application page: the journey is in the page; draw its charts. */
(function () {
  "use strict";
  window.LinktrackDashboard.start();
})();
