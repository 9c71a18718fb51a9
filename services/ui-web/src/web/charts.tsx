/**
 * Chart.js charts (canvas, no injected styles, no eval: fine under the CSP).
 * Clicking a slice or bar calls `onPick` with its label, which the views turn
 * into a filter, as falcosidekick-ui does.
 */
import { Chart, type ChartConfiguration, registerables } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';
import { visible } from './text.js';

Chart.register(...registerables);

const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

const PRIORITY_COLORS: Record<string, string> = {
  emergency: '#7f0000',
  alert: '#b71c1c',
  critical: '#e53935',
  error: '#f4511e',
  warning: '#fb8c00',
  notice: '#fdd835',
  informational: '#43a047',
  info: '#43a047',
  debug: '#1e88e5',
};

/** A stable colour per label: priorities by severity, the rest from the palette. */
function colorFor(label: string, index: number): string {
  return PRIORITY_COLORS[label.toLowerCase()] ?? PALETTE[index % PALETTE.length] ?? '#888';
}

/** Colours of text, grid lines and slice borders per theme (the CSS variables' values in style.css). */
const THEMES: Record<string, { fg: string; grid: string; panel: string }> = {
  light: { fg: '#1d1f24', grid: '#d9dce3', panel: '#ffffff' },
  dark: { fg: '#e4e6eb', grid: '#343842', panel: '#1d2026' },
};

interface CanvasProps {
  readonly config: () => ChartConfiguration;
  readonly deps: readonly unknown[];
  readonly label: string;
  readonly theme: string;
}

function ChartCanvas({ config, deps, label, theme }: CanvasProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller lists what the config depends on
  useEffect(() => {
    if (canvas.current === null) return;
    const colors = THEMES[theme] ?? THEMES.light;
    Chart.defaults.color = colors?.fg ?? '#222';
    Chart.defaults.borderColor = colors?.grid ?? '#ddd';
    Chart.defaults.elements.arc.borderColor = colors?.panel ?? '#fff';
    const el = canvas.current;
    const chart = new Chart(el, config());
    // The chart (and its click handler) exists only from here on, after the
    // render that made the canvas: the browser tests wait for this mark.
    el.dataset.drawn = 'true';
    return () => {
      delete el.dataset.drawn;
      chart.destroy();
    };
  }, [...deps, theme]);
  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

interface SliceProps {
  readonly kind: 'pie' | 'bar';
  readonly title: string;
  readonly data: readonly { readonly key: string; readonly count: number }[];
  readonly onPick: (key: string) => void;
  readonly theme: string;
}

/** A pie (sources, priorities, tags) or a horizontal bar chart (rules) of counts. */
export function CountChart({ kind, title, data, onPick, theme }: SliceProps) {
  const labels = data.map((d) => visible(d.key));
  return (
    <ChartCanvas
      label={title}
      theme={theme}
      deps={[kind, JSON.stringify(data)]}
      config={() => ({
        type: kind,
        data: {
          labels,
          datasets: [
            {
              label: title,
              data: data.map((d) => d.count),
              backgroundColor: data.map((d, i) => colorFor(d.key, i)),
            },
          ],
        },
        options: {
          indexAxis: kind === 'bar' ? 'y' : 'x',
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: kind === 'pie', position: 'right' } },
          onClick: (_e, elements) => {
            const first = elements[0];
            const key = first === undefined ? undefined : data[first.index]?.key;
            if (key !== undefined) onPick(key);
          },
        },
      })}
    />
  );
}

interface LineProps {
  readonly title: string;
  readonly labels: readonly string[];
  readonly series: readonly { readonly key: string; readonly counts: readonly number[] }[];
  readonly onPick: (key: string) => void;
  readonly theme: string;
}

/** Events over time, one line per key (server-side buckets). */
export function TimelineChart({ title, labels, series, onPick, theme }: LineProps) {
  return (
    <ChartCanvas
      label={title}
      theme={theme}
      deps={[JSON.stringify(labels), JSON.stringify(series)]}
      config={() => ({
        type: 'line',
        data: {
          labels: [...labels],
          datasets: series.map((s, i) => ({
            label: visible(s.key),
            data: [...s.counts],
            borderColor: colorFor(s.key, i),
            backgroundColor: colorFor(s.key, i),
            pointRadius: 0,
            tension: 0.2,
          })),
        },
        options: {
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: 'nearest', intersect: false },
          scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { beginAtZero: true } },
          plugins: {
            legend: {
              position: 'bottom',
              onClick: (_e, item) => {
                const key = item.datasetIndex === undefined ? undefined : series[item.datasetIndex]?.key;
                if (key !== undefined) onPick(key);
              },
            },
          },
        },
      })}
    />
  );
}
