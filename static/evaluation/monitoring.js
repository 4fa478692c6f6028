// Charts of the monitoring page: each metric's production values with its alert
// threshold and target, and the deployments as vertical markers. The data comes from the
// page itself (json_script "monitoring-charts"); Chart.js is served locally.
(() => {
  const source = document.getElementById("monitoring-charts");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const blue = "#3b5bdb", red = "#c92a2a", green = "#2b8a3e", grey = "#868e96";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);

  data.series.forEach((s, i) => {
    const canvas = document.querySelector(`canvas[data-series="${i}"]`);
    if (!canvas || !s.points.length) return;
    const xs = s.points.map((p) => p.x), ys = s.points.map((p) => p.y);
    const lo = Math.min(...xs), hi = Math.max(...xs);
    const levels = [...ys, s.threshold, s.target].filter((v) => v !== null && v !== undefined);
    const ymin = Math.min(...levels), ymax = Math.max(...levels);
    const flat = (y) => [{ x: lo, y }, { x: hi, y }];
    const datasets = [{ label: s.name, data: s.points, borderColor: blue, pointRadius: 0 }];
    if (s.threshold !== null) {
      datasets.push({ label: "alert threshold", data: flat(s.threshold), borderColor: red, borderDash: [6, 4], pointRadius: 0 });
    }
    if (s.target !== null) {
      datasets.push({ label: "target", data: flat(s.target), borderColor: green, borderDash: [2, 3], pointRadius: 0 });
    }
    data.deployments.filter((d) => d.x >= lo && d.x <= hi).forEach((d) => {
      datasets.push({ label: `deployed: ${d.label}`, data: [{ x: d.x, y: ymin }, { x: d.x, y: ymax }], borderColor: grey, pointRadius: 0 });
    });
    new Chart(canvas, {
      type: "scatter",
      data: { datasets },
      options: {
        showLine: true,
        maintainAspectRatio: false,
        scales: { x: { type: "linear", min: lo, max: hi, ticks: { callback: day, maxTicksLimit: 6 } } },
        plugins: {
          legend: { labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (c) => `${day(c.parsed.x)}: ${c.parsed.y}` } },
        },
      },
    });
  });
})();
