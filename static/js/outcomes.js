/* Outcomes page: the tables are in the page; draw its three charts from the json_script data and
 * reload when the period or the attribution model changes. */
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

  function localTimes() {
    var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    document.querySelectorAll("time[data-local-time]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        node.textContent = format.format(when);
        node.title = node.getAttribute("datetime");
      }
    });
  }

  function filterForm(form) {
    if (!form) { return; }
    var days = form.querySelector("select[name=days]");
    var custom = form.querySelectorAll(".custom-range input");
    function sync() {
      var isCustom = days.value === "custom";
      custom.forEach(function (input) {
        input.disabled = !isCustom; // disabled inputs stay out of the bookmarked URL
        input.closest("label").classList.toggle("inactive", !isCustom);
      });
    }
    days.addEventListener("change", function () {
      sync();
      if (days.value !== "custom") { form.submit(); }
    });
    form.querySelector("select[name=model]").addEventListener("change", function () { form.submit(); });
    sync();
  }

  var source = document.getElementById("outcome-charts");
  filterForm(document.querySelector("form[data-outcome-filters]"));
  localTimes();
  if (source) { draw(JSON.parse(source.textContent)); }
})();
