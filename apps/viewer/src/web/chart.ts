import { type NamedSeries, seriesToCsv } from '@bmp/runlog';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { type Aligned, namedFromAligned } from './series';

export interface ChartSeries {
  label: string;
  color: string;
  /** Bands' bounds: drawn faint, hidden from the legend's values. */
  dash?: number[];
  width?: number;
  fill?: string;
  /** 'line' (default), 'step' (histograms: the value holds until the next x), 'points'. */
  kind?: 'line' | 'step' | 'points';
  show?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel?: string;
  logY?: boolean;
  data: Aligned;
  series: ChartSeries[];
  /** Pairs of series indexes (0-based into `series`) to fill between: [upper, lower]. */
  bands?: { upper: number; lower: number; fill: string }[];
}

/** What the end-to-end tests read: every chart on the page, its series and the data drawn. */
export interface ChartRecord {
  title: string;
  labels: string[];
  logY: boolean;
  data: (number | null)[][];
}

declare global {
  interface Window {
    __bmpViewer?: { charts: Record<string, ChartRecord>; lab?: unknown; renders: number };
  }
}

export function viewerHook(): NonNullable<Window['__bmpViewer']> {
  window.__bmpViewer ??= { charts: {}, renders: 0 };
  return window.__bmpViewer;
}

const live = new Set<uPlot>();

/** Destroys every chart (page change). */
export function destroyCharts(): void {
  for (const u of live) u.destroy();
  live.clear();
  viewerHook().charts = {};
}

function download(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The chart's shown series as CSV (what "export CSV" saves). */
export function chartCsv(spec: ChartSpec): string {
  const named: NamedSeries[] = namedFromAligned(
    spec.series.map((s) => s.label),
    spec.data,
  );
  return seriesToCsv(
    named.filter((_, i) => spec.series[i].show !== false),
    spec.xLabel,
  );
}

/** Draws one uPlot chart into `parent` with a title and an "export CSV" button. */
export function renderChart(parent: HTMLElement, spec: ChartSpec): uPlot {
  const box = document.createElement('section');
  box.className = 'chart';
  box.dataset.chart = spec.id;
  const head = document.createElement('div');
  head.className = 'chart-head';
  const h = document.createElement('h3');
  h.textContent = spec.title;
  const csv = document.createElement('button');
  csv.type = 'button';
  csv.textContent = 'export CSV';
  csv.className = 'csv';
  csv.addEventListener('click', () => download(`${spec.id}.csv`, chartCsv(spec)));
  head.append(h, csv);
  const plot = document.createElement('div');
  box.append(head, plot);
  parent.append(box);

  const width = Math.max(320, Math.min(parent.clientWidth || 640, 760));
  const opts: uPlot.Options = {
    width,
    height: 260,
    scales: { x: { time: false }, y: spec.logY ? { distr: 3 } : {} },
    axes: [{ label: spec.xLabel }, { label: spec.yLabel ?? '', size: 70 }],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    series: [
      { label: spec.xLabel },
      ...spec.series.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1.5,
          dash: s.dash,
          fill: s.fill,
          show: s.show ?? true,
          spanGaps: true,
          points: { show: s.kind === 'points' || spec.data.xs.length < 12 },
          paths: s.kind === 'step' ? uPlot.paths.stepped?.({ align: 1 }) : undefined,
        }),
      ),
    ],
    bands: spec.bands?.map((b) => ({ series: [b.upper + 1, b.lower + 1], fill: b.fill })),
  };
  const data = [spec.data.xs, ...spec.data.ys] as uPlot.AlignedData;
  const u = new uPlot(opts, data, plot);
  live.add(u);
  const hook = viewerHook();
  hook.charts[spec.id] = {
    title: spec.title,
    labels: spec.series.map((s) => s.label),
    logY: spec.logY ?? false,
    data: [spec.data.xs, ...spec.data.ys],
  };
  return u;
}
