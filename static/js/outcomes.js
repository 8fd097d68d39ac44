/* Outcomes page: the tables are in the page; draw its three charts from the json_script data.
 * The filter form (period, attribution model) and local times come from charts.js. */
(function () {
  "use strict";

  var COLOURS = ["#2563eb", "#10b981", "#f59e0b", "#8b5cf6", "#ef4444"];

  function bar(canvas, labels, datasets, horizontal) {
    var existing = window.Chart.getChart(canvas);
    if (existing) { existing.destroy(); }
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { position: "bottom", display: datasets.length > 1 } },
        scales: { x: { beginAtZero: true }, y: { beginAtZero: true } },
      },
    });
    canvas.dataset.state = labels.length ? "drawn" : "empty";
  }

  function draw(data) {
    document.querySelectorAll("canvas[data-outcome-chart]").forEach(function (canvas) {
      var name = canvas.dataset.outcomeChart;
      if (name === "funnel") {
        bar(canvas, data.funnel.labels, [
          { label: "Applications", data: data.funnel.counts, backgroundColor: COLOURS },
        ], true);
      } else if (name === "functions") {
        bar(canvas, data.functions.labels, [
          { label: "Opened by a person", data: data.functions.opened, backgroundColor: COLOURS[0] },
          { label: "Reached interview", data: data.functions.interview, backgroundColor: COLOURS[1] },
        ], false);
      } else if (name === "attribution") {
        bar(canvas, data.attribution.labels, [
          { label: "Credit", data: data.attribution.credit, backgroundColor: COLOURS[3] },
        ], true);
      }
    });
  }

  var source = document.getElementById("outcome-charts");
  window.LinktrackDashboard.filterForm(document.querySelector("form[data-outcome-filters]"));
  window.LinktrackDashboard.localTimes(document);
  if (source) { draw(JSON.parse(source.textContent)); }
})();
