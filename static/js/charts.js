/*
 * Shared dashboard helpers: draw every <canvas data-chart data-url> from its JSON endpoint,
 * show dates in the reader's time, keep the filter form tidy. Loaded by each page's script.
 */
(function () {
  "use strict";

  // The palette is defined once, as CSS variables in site.css: one colour per meaning (people,
  // automated, owner…) in every chart, and category colours that never borrow a meaning's.
  var MEANINGS = {
    People: "--people",
    Person: "--people",
    Automated: "--automated",
    Crawler: "--automated-3",
    "Email scanner": "--automated",
    "Link preview": "--automated-2",
    Owner: "--owner",
    "Not classified yet": "--unclassified",
    Clicks: "--clicks",
  };

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function meaningColour(label) {
    return MEANINGS[label] ? cssVar(MEANINGS[label]) : null;
  }

  function series() {
    return cssVar("--series").split(/\s+/).filter(Boolean);
  }

  // Exposed for tests and for page scripts that draw their own charts.
  window.linktrackPalette = { meaningColour: meaningColour, series: series };

  function colourDatasets(chart) {
    var categories = series();
    chart.datasets.forEach(function (dataset, index) {
      if (chart.type === "doughnut") {
        var next = 0;
        dataset.backgroundColor = chart.labels.map(function (label) {
          return meaningColour(label) || categories[next++ % categories.length];
        });
      } else {
        var colour = meaningColour(dataset.label) || categories[index % categories.length];
        dataset.backgroundColor = chart.type === "bubble" ? colour + "99" : colour;
        dataset.borderColor = colour;
      }
    });
  }

  function range(n) {
    var ticks = [];
    for (var i = 0; i < n; i++) { ticks.push({ value: i }); }
    return ticks;
  }

  function options(chart) {
    var base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: "bottom" } },
    };
    if (chart.type === "bar") {
      base.scales = {
        x: { stacked: !!chart.stacked, ticks: { autoSkip: true, maxRotation: 60 } },
        y: { stacked: !!chart.stacked, beginAtZero: true, ticks: { precision: 0 } },
      };
    } else if (chart.type === "bubble") {
      base.scales = {
        x: {
          min: -0.5, max: 23.5,
          afterBuildTicks: function (axis) { axis.ticks = range(24); },
          ticks: { callback: function (v) { return v + "h"; } },
          title: { display: true, text: "Hour" },
        },
        y: {
          min: -0.5, max: 6.5, reverse: true,
          afterBuildTicks: function (axis) { axis.ticks = range(7); },
          ticks: { callback: function (v) { return chart.labels[v] || ""; } },
        },
      };
      base.plugins.legend = { display: false };
      base.plugins.tooltip = {
        callbacks: {
          label: function (ctx) {
            var p = ctx.raw;
            return chart.labels[p.y] + " " + p.x + ":00 — " + p.v + " clicks";
          },
        },
      };
    }
    return base;
  }

  function getJson(url, what) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(what + ": HTTP " + response.status); }
        return response.json();
      });
  }

  // The world map (chartjs-chart-geo): every country of world-atlas's topology, coloured by the
  // clicks the endpoint counted for its ISO 3166-1 numeric id (countries without clicks: 0).
  function mapConfig(chart, topology) {
    var geo = window.ChartGeo;
    var countries = geo.topojson.feature(topology, topology.objects.countries).features;
    var clicks = {};
    chart.datasets[0].data.forEach(function (point) { if (point.id) { clicks[point.id] = point.v; } });
    return {
      type: "choropleth",
      data: {
        labels: countries.map(function (c) { return c.properties.name; }),
        datasets: [{
          label: "Clicks",
          outline: countries,
          data: countries.map(function (c) { return { feature: c, value: clicks[c.id] || 0 }; }),
        }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        showOutline: true,
        plugins: { legend: { display: false } },
        scales: {
          projection: { axis: "x", projection: "equalEarth" },
          color: { axis: "x", quantize: 5, legend: { position: "bottom-right", align: "right" } },
        },
      },
    };
  }

  function draw(canvas) {
    var figure = canvas.closest("figure");
    var atlas = canvas.dataset.atlas ? getJson(canvas.dataset.atlas, "map") : Promise.resolve(null);
    return Promise.all([getJson(canvas.dataset.url, "chart " + canvas.dataset.chart), atlas])
      .then(function (loaded) {
        var payload = loaded[0];
        var chart = payload.chart;
        var existing = window.Chart.getChart(canvas);
        if (existing) { existing.destroy(); }
        if (chart.type === "choropleth") {
          new window.Chart(canvas, mapConfig(chart, loaded[1]));
        } else {
          colourDatasets(chart);
          new window.Chart(canvas, {
            type: chart.type,
            data: { labels: chart.type === "bubble" ? undefined : chart.labels, datasets: chart.datasets },
            options: options(chart),
          });
        }
        var empty = figure && figure.querySelector(".chart-empty");
        if (empty) { empty.hidden = !payload.empty; }
        canvas.dataset.state = payload.empty ? "empty" : "drawn";
      })
      .catch(function (error) {
        canvas.dataset.state = "error";
        if (figure) { figure.classList.add("failed"); }
        console.error(error);
      });
  }

  function drawAll(root) {
    var canvases = (root || document).querySelectorAll("canvas[data-chart]");
    return Promise.all(Array.prototype.map.call(canvases, draw));
  }

  function localTimes(root) {
    var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    (root || document).querySelectorAll("time[data-local-time]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        node.textContent = format.format(when);
        node.title = node.getAttribute("datetime");
      }
    });
  }

  function filterForm(form) {
    if (!form) { return; }
    var select = form.querySelector("select[name=days]");
    var custom = form.querySelectorAll(".custom-range input");
    function sync() {
      var isCustom = select.value === "custom";
      custom.forEach(function (input) {
        input.disabled = !isCustom; // disabled inputs stay out of the bookmarked URL
        input.closest("label").classList.toggle("inactive", !isCustom);
      });
    }
    select.addEventListener("change", function () {
      sync();
      if (select.value !== "custom") { form.submit(); }
    });
    // The page's other controls (the automated toggle, the outcomes page's model) apply at once.
    form.querySelectorAll("input[name=automated], select[name=model]").forEach(function (control) {
      control.addEventListener("change", function () {
        sync();
        form.submit();
      });
    });
    sync();
  }

  window.LinktrackDashboard = {
    start: function () {
      filterForm(document.querySelector("form[data-filters]"));
      localTimes(document);
      return drawAll(document);
    },
    drawAll: drawAll,
    filterForm: filterForm,
    localTimes: localTimes,
  };
})();
