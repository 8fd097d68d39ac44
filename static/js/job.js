/* Job page: the job's charts (per day, by function, who clicked). */
(function () {
  "use strict";
  window.LinktrackDashboard.start();
})();
