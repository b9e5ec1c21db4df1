/* Draws the dashboard's charts: every canvas[data-chart-kind] made by
   templates/dashboard/includes/chart.html, from the JSON block its data-chart-source names.
   Loaded with defer after the vendored Chart.js (dashboard/includes/chart_scripts.html);
   no inline script or handler anywhere, so a strict Content-Security-Policy can stay on.
   When Chart.js is missing (blocked, failed to load) or a chart cannot be drawn, the
   numbers' table next to the canvas is shown instead, so the figures stay readable. */
(function () {
  "use strict";

  // Each at least 5:1 against white (WCAG asks 3:1 for parts of a graphic); lines also
  // differ by dash and point shape, so the series stay apart without colour.
  var COLOURS = ["#0b57d0", "#137333", "#b3261e", "#8e24aa", "#a15c00", "#3c4043"];
  var DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
  var POINTS = ["circle", "rect", "triangle", "rectRot"];
  var INK = "#1b1f24";
  var GRID = "#e3e7ed";
  // Longer category names than this read badly under a vertical bar: draw bars sideways.
  var LONG_LABEL = 12;
  var BAR_ROW_PX = 30;

  function pageLocale() {
    var lang = (document.documentElement.lang || "vi").toLowerCase();
    return lang.indexOf("vi") === 0 ? "vi-VN" : lang;
  }

  // Tooltips and ticks in the page's language (vi: 1.234.567); the browser's own if it
  // does not know the page's.
  function numberFormats(locale) {
    try {
      return {
        locale: locale,
        full: new Intl.NumberFormat(locale),
        compact: new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }),
      };
    } catch (error) {
      var plain = new Intl.NumberFormat();
      return { locale: undefined, full: plain, compact: plain };
    }
  }

  function reducedMotion() {
    return Boolean(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  }

  function showTable(canvas) {
    var figure = canvas.closest("figure");
    if (!figure) return;
    var table = figure.querySelector(".chart-table");
    if (table) table.classList.remove("visually-hidden");
    var box = canvas.parentElement;
    if (box && box.classList.contains("chart-box")) box.hidden = true;
    figure.classList.add("chart-fallback");
  }

  function readData(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart-source") || "");
    if (!source) return null;
    var data = JSON.parse(source.textContent);
    if (!data || !Array.isArray(data.labels) || !Array.isArray(data.series)) return null;
    return data;
  }

  function datasets(data, kind) {
    return data.series.map(function (series, index) {
      var colour = COLOURS[index % COLOURS.length];
      var dataset = {
        label: series.label,
        data: (series.values || []).map(function (value) {
          return value === null || value === undefined ? null : Number(value);
        }),
        borderColor: colour,
        backgroundColor: colour,
      };
      if (kind === "line") {
        dataset.borderWidth = 2;
        dataset.borderDash = DASHES[index % DASHES.length];
        dataset.pointStyle = POINTS[index % POINTS.length];
        dataset.pointRadius = 3;
        dataset.pointHoverRadius = 5;
        dataset.tension = 0;
        dataset.fill = false;
      } else {
        dataset.borderWidth = 0;
        dataset.maxBarThickness = 28;
      }
      return dataset;
    });
  }

  function draw(canvas, formats, animate) {
    if (canvas.getAttribute("data-chart-drawn") === "true") return;
    var data = readData(canvas);
    if (!data) {
      showTable(canvas);
      return;
    }
    var kind = canvas.getAttribute("data-chart-kind") === "bar" ? "bar" : "line";
    var sideways =
      kind === "bar" &&
      data.labels.some(function (label) {
        return String(label).length > LONG_LABEL;
      });
    var valueAxis = sideways ? "x" : "y";
    var labelAxis = sideways ? "y" : "x";

    if (sideways) {
      // One readable row per bar, however many there are; the CSS height is the minimum.
      var box = canvas.parentElement;
      var wanted = data.labels.length * BAR_ROW_PX * Math.max(1, data.series.length) + 80;
      if (box && wanted > box.clientHeight) box.style.height = wanted + "px";
    }

    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      grid: { color: GRID },
      ticks: {
        color: INK,
        precision: 0,
        maxTicksLimit: 6,
        callback: function (value) {
          // Six digits and more take a phone's width from the plot: 600 N, 1,2 Tr.
          return Math.abs(value) >= 100000 ? formats.compact.format(value) : formats.full.format(value);
        },
      },
    };
    scales[labelAxis] = {
      grid: { display: false },
      ticks: {
        color: INK,
        autoSkip: true,
        maxRotation: sideways ? 0 : 45,
        callback: function (value) {
          var label = String(this.getLabelForValue(value));
          // A phone has room for about this much under each tick; the tooltip and the table have it all.
          return label.length > 28 ? label.slice(0, 27) + "…" : label;
        },
      },
    };

    new window.Chart(canvas, {
      type: kind,
      data: { labels: data.labels, datasets: datasets(data, kind) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: labelAxis,
        locale: formats.locale,
        animation: animate ? { duration: 400 } : false,
        interaction: { mode: "index", intersect: false, axis: labelAxis },
        scales: scales,
        plugins: {
          legend: {
            display: data.series.length > 1,
            position: "bottom",
            labels: { color: INK, usePointStyle: kind === "line", boxWidth: 14 },
          },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = context.parsed[valueAxis];
                var shown = value === null || value === undefined ? "–" : formats.full.format(value);
                return (context.dataset.label ? context.dataset.label + ": " : "") + shown;
              },
            },
          },
        },
      },
    });
    canvas.setAttribute("data-chart-drawn", "true");
  }

  function drawAll() {
    var canvases = document.querySelectorAll("canvas[data-chart-kind]");
    if (!canvases.length) return;
    if (typeof window.Chart !== "function") {
      canvases.forEach(showTable);
      return;
    }
    var formats = numberFormats(pageLocale());
    var animate = !reducedMotion();
    window.Chart.defaults.color = INK;
    window.Chart.defaults.font.size = 13;
    canvases.forEach(function (canvas) {
      try {
        draw(canvas, formats, animate);
      } catch (error) {
        // One bad chart must not leave the others, or its own numbers, unreadable.
        showTable(canvas);
        if (window.console) window.console.error(error);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
