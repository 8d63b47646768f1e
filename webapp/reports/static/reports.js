// Draw the report charts from the JSON on each <canvas data-chart>, on page load and after
// htmx swaps a report body in; charts in swapped-out content are destroyed first.
(() => {
  const drawn = new WeakMap();
  const palette = ["#0d6efd", "#adb5bd", "#198754", "#fd7e14", "#6f42c1", "#20c997"];

  function draw(root) {
    if (!window.Chart || !root.querySelectorAll) return;
    root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      if (drawn.has(canvas)) return;
      const spec = JSON.parse(canvas.dataset.chart);
      const datasets = spec.datasets.map((set, index) => ({
        ...set,
        // Amounts arrive as decimal strings; the chart only needs them to draw.
        data: set.data.map(Number),
        backgroundColor: palette[index % palette.length],
        borderColor: palette[index % palette.length],
      }));
      const chart = new window.Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets },
        options: {
          indexAxis: spec.horizontal ? "y" : "x",
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: datasets.length > 1 } },
        },
      });
      drawn.set(canvas, chart);
    });
  }

  document.addEventListener("DOMContentLoaded", () => draw(document));
  document.addEventListener("htmx:load", (event) => draw(event.target));
  document.addEventListener("htmx:beforeCleanupElement", (event) => {
    const chart = drawn.get(event.target);
    if (chart) {
      chart.destroy();
      drawn.delete(event.target);
    }
  });
})();
