// Charts of the monitoring page and of a drift cell's drill-down. The data comes from the
// page itself (json_script "monitoring-charts" and "distribution-data"); Chart.js is
// served locally. A drill-down swapped in by htmx is drawn when it arrives.
(() => {
  if (typeof Chart === "undefined") return;
  const blue = "#3b5bdb", red = "#c92a2a", green = "#2b8a3e", grey = "#868e96";
  const purple = "#7048e8", orange = "#e67700";
  const palette = [blue, orange, green, purple, red, "#0b7285", "#5c940d", "#862e9c"];
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  const stamp = (ms) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  const small = () => window.matchMedia("(max-width: 600px)").matches;

  // A scatter chart with lines over a linear time axis (ms since the epoch).
  const timeChart = (canvas, datasets, lo, hi, y = {}) =>
    new Chart(canvas, {
      type: "scatter",
      data: { datasets },
      options: {
        showLine: true,
        maintainAspectRatio: false,
        scales: {
          x: { type: "linear", min: lo, max: hi, ticks: { callback: day, maxTicksLimit: small() ? 3 : 6 } },
          y,
        },
        plugins: {
          legend: { labels: { boxWidth: 12, filter: (item, chart) => !chart.datasets[item.datasetIndex].hideInLegend } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label} · ${stamp(c.parsed.x)}: ${c.raw.text || c.parsed.y}` } },
        },
      },
    });
  const flat = (lo, hi, y) => [{ x: lo, y }, { x: hi, y }];
  // Vertical markers (deployments, alerts) inside [lo, hi], from ymin to ymax. One legend
  // entry for all of them, short enough for a phone: the prefix and the count, or the one
  // marker's name cut to fit; each marker's tooltip has its whole text.
  const short = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
  const markers = (items, lo, hi, ymin, ymax, color, prefix, dash) => {
    const shown = items.filter((d) => d.x >= lo && d.x <= hi);
    const legend = shown.length > 1 ? `${prefix} (${shown.length})` : `${prefix}: ${short(shown[0]?.label || "", 28)}`;
    return shown.map((d, i) => ({
      label: legend,
      data: [{ x: d.x, y: ymin, text: d.label }, { x: d.x, y: ymax, text: d.label }],
      borderColor: color,
      borderDash: dash,
      borderWidth: 1,
      pointRadius: 0,
      hideInLegend: i > 0,
    }));
  };

  const source = document.getElementById("monitoring-charts");
  const data = source ? JSON.parse(source.textContent) : null;

  // Each watched metric: values, threshold, target, offline reference, deployments, alerts.
  (data ? data.series : []).forEach((s, i) => {
    const canvas = document.querySelector(`canvas[data-series="${i}"]`);
    if (!canvas || !s.points.length) return;
    const xs = s.points.map((p) => p.x), ys = s.points.map((p) => p.y);
    const lo = Math.min(...xs), hi = Math.max(...xs);
    const levels = [...ys, s.threshold, s.target, s.offline].filter((v) => v !== null && v !== undefined);
    const ymin = Math.min(...levels), ymax = Math.max(...levels);
    const datasets = [{ label: s.name, data: s.points, borderColor: blue, backgroundColor: blue, pointRadius: 0 }];
    if (s.threshold !== null) {
      datasets.push({ label: "alert threshold", data: flat(lo, hi, s.threshold), borderColor: red, borderDash: [6, 4], pointRadius: 0 });
    }
    if (s.target !== null) {
      datasets.push({ label: "target", data: flat(lo, hi, s.target), borderColor: green, borderDash: [2, 3], pointRadius: 0 });
    }
    if (s.offline !== null) {
      datasets.push({ label: s.offline_label, data: flat(lo, hi, s.offline), borderColor: purple, borderDash: [10, 4], pointRadius: 0 });
    }
    datasets.push(...markers(data.deployments, lo, hi, ymin, ymax, grey, "deployed"));
    const alerts = s.alerts.filter((a) => a.x >= lo && a.x <= hi);
    if (alerts.length) {
      datasets.push({
        label: "alert",
        data: alerts.map((a) => ({ x: a.x, y: a.y ?? s.threshold ?? ymin, text: a.label })),
        showLine: false,
        pointStyle: "triangle",
        pointRadius: 7,
        borderColor: red,
        backgroundColor: red,
      });
    }
    timeChart(canvas, datasets, lo, hi);
  });

  // The prediction windows: volume, realized against estimated performance, attribution.
  const windows = data ? data.windows : null;
  if (windows && windows.volume.length) {
    const xs = windows.volume.map((v) => v.x);
    const lo = Math.min(...xs), hi = Math.max(...xs);
    const others = data.alerts.filter((a) => a.kind !== "metric");
    const volume = document.querySelector('canvas[data-window-chart="volume"]');
    if (volume) {
      const top = Math.max(...windows.volume.map((v) => v.rows));
      timeChart(volume, [
        { label: "rows", data: windows.volume.map((v) => ({ x: v.x, y: v.rows })), borderColor: blue, backgroundColor: blue, pointRadius: 2 },
        { label: "labelled rows", data: windows.volume.map((v) => ({ x: v.x, y: v.labelled })), borderColor: green, backgroundColor: green, pointRadius: 2 },
        ...markers(data.deployments, lo, hi, 0, top, grey, "deployed"),
      ], lo, hi, { min: 0 });
    }
    windows.performance.forEach((p, i) => {
      const canvas = document.querySelector(`canvas[data-window-chart="performance"][data-index="${i}"]`);
      if (!canvas) return;
      timeChart(canvas, [
        { label: `${p.name} realized (labelled rows)`, data: p.realized, borderColor: blue, backgroundColor: blue, pointRadius: 2 },
        { label: `${p.name} ESTIMATED (CBPE)`, data: p.estimated, borderColor: orange, backgroundColor: orange, borderDash: [5, 4], pointRadius: 2, pointStyle: "rectRot" },
        ...markers(others, lo, hi, 0, 1, red, "alert", [3, 3]),
        ...markers(data.deployments, lo, hi, 0, 1, grey, "deployed"),
      ], lo, hi, { min: 0, max: 1 });
    });
    const attribution = document.querySelector('canvas[data-window-chart="attribution"]');
    if (attribution && windows.attribution.length) {
      timeChart(attribution, windows.attribution.map((f, i) => ({
        label: f.feature,
        data: f.points,
        borderColor: palette[i % palette.length],
        backgroundColor: palette[i % palette.length],
        pointRadius: 2,
      })), lo, hi, { min: 0 });
    }
  }

  // A drift cell's drill-down: the reference's and the window's share per bin or value.
  const drawDistribution = (root) => {
    const script = root.querySelector("#distribution-data");
    const canvas = root.querySelector(".distribution canvas");
    if (!script || !canvas) return;
    const d = JSON.parse(script.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          { label: `reference (${d.reference_rows} rows)`, data: d.reference, backgroundColor: "#adb5bd" },
          { label: `window (${d.current_rows} rows)`, data: d.current, backgroundColor: blue },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: { y: { min: 0, title: { display: true, text: "share of rows" } }, x: { ticks: { maxRotation: 60, autoSkip: true } } },
        plugins: { legend: { labels: { boxWidth: 12 } } },
      },
    });
  };
  drawDistribution(document);
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id === "drift-detail") {
      drawDistribution(event.target);
      event.target.scrollIntoView({ block: "nearest" });
    }
  });
})();
