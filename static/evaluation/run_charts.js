// Metric-history line charts of the run comparison page: one chart per metric, one line
// per run, x = step. The data comes from the page's json_script (#run-charts).
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("run-charts");
  if (!source || typeof Chart === "undefined") return;
  const charts = JSON.parse(source.textContent);
  const colours = ["#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#1098ad", "#7048e8",
                   "#f08c00", "#495057", "#5c940d", "#d6336c", "#0b7285", "#862e9c"];
  document.querySelectorAll("canvas[data-chart-index]").forEach((canvas) => {
    const chart = charts[Number(canvas.dataset.chartIndex)];
    new Chart(canvas, {
      type: "line",
      data: {
        datasets: chart.series.map((series, i) => ({
          label: series.label,
          data: series.points.map(([step, value]) => ({ x: step, y: value })),
          borderColor: colours[i % colours.length],
          backgroundColor: colours[i % colours.length],
          pointRadius: series.points.length > 50 ? 0 : 2,
          borderWidth: 2,
          tension: 0.2,
        })),
      },
      options: {
        animation: false,
        parsing: false,
        scales: { x: { type: "linear", ticks: { precision: 0 }, title: { display: true, text: "step" } } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      },
    });
  });
});
