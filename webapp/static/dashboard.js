// The dashboard's trend charts, drawn by plotly.js (served from the plotly package; no CDN).
(function () {
  "use strict";
  var trends = JSON.parse(document.getElementById("trends").textContent);
  var layout = function (title) {
    return { title: { text: title, font: { size: 14 } }, margin: { l: 40, r: 10, t: 36, b: 40 },
             barmode: "stack", legend: { orientation: "h" }, xaxis: { type: "category", nticks: 8 } };
  };
  var series = function (byDomain, kind) {
    return Object.keys(byDomain).map(function (domain) {
      return { x: trends.days, y: byDomain[domain], name: domain, type: kind };
    });
  };
  var config = { displayModeBar: false, responsive: true };
  Plotly.newPlot("chart-runs", series(trends.runs, "bar"), layout("Runs per day, by domain"), config);
  Plotly.newPlot("chart-failures", series(trends.failures, "bar"), layout("Failed runs per day (gate failures and errors)"), config);
  if (trends.sla && document.getElementById("chart-sla")) {
    Plotly.newPlot("chart-sla", series(trends.sla, "scatter"), layout("SLA compliance per day"), config);
    Plotly.newPlot("chart-incidents", series(trends.incidents, "bar"), layout("Incidents opened per day"), config);
  }
})();
