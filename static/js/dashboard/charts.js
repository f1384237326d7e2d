// Chart.js, registered with only what the dashboard draws: bar charts (vertical for
// counts over time, horizontal for areas and choices) with tooltips. Tree-shaken.
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const GREEN = '#0b6e4f';
const INK = '#1d2327';
const GRID = '#e6e2da';

// On a phone people do not hover: write each bar's count at its end.
const valueLabels = {
  id: 'valueLabels',
  afterDatasetsDraw(chart, _args, opts) {
    const { ctx } = chart;
    const horizontal = chart.options.indexAxis === 'y';
    ctx.save();
    ctx.fillStyle = INK;
    ctx.font = `12px ${Chart.defaults.font.family}`;
    ctx.textBaseline = horizontal ? 'middle' : 'bottom';
    ctx.textAlign = horizontal ? 'left' : 'center';
    chart.getDatasetMeta(0).data.forEach((bar, i) => {
      const text = opts.format(chart.data.datasets[0].data[i], i);
      if (text === '') return;
      if (horizontal) ctx.fillText(text, bar.x + 4, bar.y);
      else ctx.fillText(text, bar.x, bar.y - 2);
    });
    ctx.restore();
  },
};

export function useFont(family) {
  Chart.defaults.font.family = family;
  Chart.defaults.font.size = 13;
  Chart.defaults.color = INK;
  Chart.defaults.animation = false; // cheap phones: draw once, no frames to render
}

// Chinese has no spaces: cut a label into lines of about `width` units (a CJK character
// counts 2, other characters 1), at most 3 lines.
export function wrap(label, width = 16) {
  const lines = [];
  let line = '';
  let used = 0;
  for (const ch of String(label)) {
    const w = /[\u2e80-\uffff]/.test(ch) ? 2 : 1;
    if (used + w > width && line) {
      lines.push(line);
      line = '';
      used = 0;
    }
    if (!(line === '' && ch === ' ')) {
      line += ch;
      used += w;
    }
  }
  if (line) lines.push(line);
  if (lines.length > 3) return [...lines.slice(0, 2), `${lines[2].slice(0, -1)}…`];
  return lines.length > 1 ? lines : lines[0] || '';
}

// A horizontal bar chart: one bar per label, the box grows with the number of bars.
export function barsAcross(canvas, labels, counts, { label, format, tooltip }) {
  const lines = labels.map((l) => (Array.isArray(l) ? l.length : 1));
  canvas.parentElement.style.height = `${lines.reduce((a, n) => a + 14 + 16 * n, 24)}px`;
  const max = Math.max(1, ...counts);
  return new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label, data: counts, backgroundColor: GREEN, maxBarThickness: 22 }] },
    options: {
      indexAxis: 'y',
      maintainAspectRatio: false,
      layout: { padding: { right: 8 } },
      scales: {
        // room at the right end for the widest count label ("12 · 100%")
        x: { beginAtZero: true, suggestedMax: max, grace: '45%', ticks: { precision: 0, maxTicksLimit: 5 }, grid: { color: GRID } },
        y: { grid: { display: false }, ticks: { autoSkip: false } },
      },
      plugins: { tooltip: { callbacks: { label: tooltip } }, valueLabels: { format } },
    },
    plugins: [valueLabels],
  });
}

// A vertical bar chart of counts over time.
export function barsOverTime(canvas, labels, counts, { label }) {
  canvas.parentElement.style.height = '220px';
  return new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label, data: counts, backgroundColor: GREEN, maxBarThickness: 28 }] },
    options: {
      maintainAspectRatio: false,
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
        y: { beginAtZero: true, grace: '12%', ticks: { precision: 0, maxTicksLimit: 6 }, grid: { color: GRID } },
      },
      plugins: {
        valueLabels: { format: (n) => (labels.length <= 14 && n ? String(n) : '') },
      },
    },
    plugins: [valueLabels],
  });
}
