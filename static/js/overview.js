/* Dashboard overview: totals are in the page; draw the charts. */
(function () {
  "use strict";
  window.LinktrackDashboard.start();
})();
