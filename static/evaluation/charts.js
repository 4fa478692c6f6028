// Charts of an evaluation's results page. The data comes from the page itself
// (json_script "evaluation-charts"); Chart.js is served locally.
(() => {
  const source = document.getElementById("evaluation-charts");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const blue = "#3b5bdb", orange = "#e67700", grey = "#adb5bd", red = "#c92a2a";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;

  const axis = (title, extra = {}) => ({ title: { display: true, text: title }, ...extra });
  const line = (id, datasets, x, y, options = {}) => {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, {
      type: "scatter",
      data: { datasets },
      options: {
        showLine: true,
        elements: { point: { radius: 0 } },
        scales: { x, y },
        plugins: { legend: { display: datasets.length > 1 } },
        ...options,
      },
    });
  };
  const unit = { min: 0, max: 1 };

  if (data.roc) {
    line("chart-roc",
      [{ label: "model", data: data.roc, borderColor: blue },
       { label: "random", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: grey, borderDash: [4, 4] }],
      axis("False positive rate", unit), axis("True positive rate", unit));
  }
  if (data.pr) {
    line("chart-pr", [{ label: "model", data: data.pr, borderColor: blue }],
      axis("Recall", unit), axis("Precision", unit));
  }
  if (data.thresholds) {
    const t = data.thresholds;
    line("chart-thresholds",
      [{ label: "expected cost", data: t.map((p) => ({ x: p.threshold, y: p.cost })), borderColor: red, yAxisID: "y" },
       { label: "F1", data: t.map((p) => ({ x: p.threshold, y: p.f1 })), borderColor: blue, yAxisID: "y1" }],
      axis("Threshold", unit), axis("Cost"),
      { scales: { x: axis("Threshold", unit), y: axis("Cost"), y1: { position: "right", min: 0, max: 1, title: { display: true, text: "F1" }, grid: { drawOnChartArea: false } } } });
  }
  if (data.calibration) {
    line("chart-calibration",
      [{ label: "model", data: data.calibration, borderColor: blue, pointRadius: 3 },
       { label: "perfectly calibrated", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: grey, borderDash: [4, 4] }],
      axis("Mean predicted probability", unit), axis("Fraction positive", unit));
  }
  if (data.residuals) {
    new Chart(document.getElementById("chart-residuals"), {
      type: "bar",
      data: { labels: data.residuals.labels, datasets: [{ label: "rows", data: data.residuals.counts, backgroundColor: blue }] },
      options: { plugins: { legend: { display: false } }, scales: { x: axis("Residual"), y: axis("Rows") } },
    });
  }
  if (data.slices) {
    new Chart(document.getElementById("chart-slices"), {
      type: "bar",
      data: { labels: data.slices.labels, datasets: [{ label: data.slices.metric, data: data.slices.values, backgroundColor: orange }] },
      options: { indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: axis(data.slices.metric) } },
    });
  }
  if (data.tradeoff) {
    const pts = data.tradeoff.points;
    line("chart-tradeoff",
      [{ label: "blend weight w", data: pts, borderColor: blue,
         pointRadius: 5, pointBackgroundColor: pts.map((p) => (p.pareto ? blue : "#fff")) }],
      axis(`objective A: ${data.tradeoff.metric}`), axis(`objective B: ${data.tradeoff.metric}`),
      { maintainAspectRatio: false,
        plugins: { legend: { display: false },
          tooltip: { callbacks: { label: (c) => `w = ${pts[c.dataIndex].weight}: A ${c.parsed.x.toFixed(3)}, B ${c.parsed.y.toFixed(3)}` } } } });
  }
})();
