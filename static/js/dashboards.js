/* Draws each dashboard chart from its data-chart attribute with ECharts: a trend by month with
   the target line, or bars by department; a click on a point opens the records behind it. The
   same values are in the table under each chart. Runs on load and after htmx swaps the page. */
(function () {
  "use strict";
  var LEVEL_COLOURS = { normal: "#146c2e", warning: "#b54708", alert: "#b42318" };
  var PLAIN = "#0b5cad";

  function number(text) {
    return text === null || text === undefined ? null : Number(text);
  }

  function options(spec) {
    // Values are exact decimal text in the KPI's base unit; the axis reads in the unit shown (万元, %).
    var scale = Number(spec.scale || "1");
    function scaled(text) {
      var value = number(text);
      return value === null ? null : value * scale;
    }
    var values = spec.values.map(function (text, index) {
      return {
        value: scaled(text),
        itemStyle: { color: LEVEL_COLOURS[spec.levels[index]] || PLAIN },
      };
    });
    var series = {
      type: spec.type === "trend" ? "line" : "bar",
      data: values,
      label: { show: spec.type !== "trend", position: "top", formatter: function (p) { return spec.displays[p.dataIndex]; } },
    };
    if (spec.target !== null && spec.target !== undefined) {
      series.markLine = { symbol: "none", data: [{ yAxis: scaled(spec.target), name: "target" }],
        lineStyle: { type: "dashed" }, label: { formatter: function () { return ""; } } };
    }
    return {
      // People who ask their system for less motion get the charts without the growing animation.
      animation: !window.matchMedia("(prefers-reduced-motion: reduce)").matches,
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", formatter: function (items) {
        var p = items[0];
        return p.name + ": " + spec.displays[p.dataIndex];
      } },
      xAxis: { type: "category", data: spec.labels, axisLabel: { interval: 0, rotate: spec.labels.length > 6 ? 30 : 0 } },
      yAxis: { type: "value" },
      series: [series],
    };
  }

  function draw(root) {
    if (!window.echarts) return;
    var locale = (document.documentElement.lang || "").indexOf("zh") === 0 ? "ZH" : "EN";
    root.querySelectorAll(".chart[data-chart]").forEach(function (element) {
      if (element.dataset.drawn) return;
      var spec = JSON.parse(element.dataset.chart);
      var chart = window.echarts.init(element, null, { locale: locale });
      chart.setOption(options(spec));
      chart.on("click", function (params) {
        var link = spec.links[params.dataIndex];
        if (link) window.location.assign(link);
      });
      element.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
