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
  /** Logarithmic x axis (x values must be > 0). */
  logX?: boolean;
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
  logX: boolean;
  data: (number | null)[][];
}

declare global {
  interface Window {
    __bmpViewer?: {
      charts: Record<string, ChartRecord>;
      lab?: unknown;
      renders: number;
      /** Redraws after a live update of the log directory. */
      liveUpdates?: number;
      /** A chart's x scale as drawn (its zoom). */
      xRange?: (id: string) => { min: number | null; max: number | null } | null;
    };
  }
}

export function viewerHook(): NonNullable<Window['__bmpViewer']> {
  window.__bmpViewer ??= {
    charts: {},
    renders: 0,
    xRange: (id) => {
      const x = byId.get(id)?.scales.x;
      return x ? { min: x.min ?? null, max: x.max ?? null } : null;
    },
  };
  return window.__bmpViewer;
}

const live = new Set<uPlot>();
const byId = new Map<string, uPlot>();
/** The spec each chart was last drawn from (what "export CSV" saves). */
const specs = new Map<string, ChartSpec>();

/** Destroys every chart (page change). */
export function destroyCharts(): void {
  for (const u of live) u.destroy();
  live.clear();
  byId.clear();
  specs.clear();
  viewerHook().charts = {};
}

/** What the user did to a chart that a redraw must keep: the x range zoomed to, the series hidden. */
export interface ChartView {
  zoom: { min: number; max: number } | null;
  hidden: Set<string>;
}

function viewOf(u: uPlot): ChartView {
  const xs = (u.data[0] as (number | null)[]).filter((x): x is number => x !== null);
  const { min, max } = u.scales.x;
  const zoomed =
    xs.length > 0 &&
    min != null &&
    max != null &&
    (min > Math.min(...xs) + 1e-12 || max < Math.max(...xs) - 1e-12);
  const hidden = new Set(
    u.series.flatMap((s, i) => (i > 0 && s.show === false && typeof s.label === 'string' ? [s.label] : [])),
  );
  return { zoom: zoomed ? { min: min!, max: max! } : null, hidden };
}

/** The zoom and hidden series of every chart on the page, by chart id (before a live redraw). */
export function captureChartViews(): Map<string, ChartView> {
  const views = new Map<string, ChartView>();
  for (const [id, u] of byId) views.set(id, viewOf(u));
  return views;
}

/**
 * Gives a drawn chart new data in place (a live update), keeping its zoom and hidden series; false
 * when there is no such chart or its series, title or scales differ (then it must be drawn anew).
 */
export function updateChartInPlace(spec: ChartSpec): boolean {
  const u = byId.get(spec.id);
  const old = specs.get(spec.id);
  if (!u || !old) return false;
  const key = (c: ChartSpec) =>
    JSON.stringify([
      c.title,
      c.xLabel,
      c.logY ?? false,
      c.logX ?? false,
      c.series.map((s) => s.label),
      c.bands ?? [],
    ]);
  if (key(spec) !== key(old)) return false;
  const { zoom } = viewOf(u);
  u.setData([spec.data.xs, ...spec.data.ys] as uPlot.AlignedData);
  if (zoom) u.setScale('x', zoom);
  specs.set(spec.id, spec);
  viewerHook().charts[spec.id] = chartRecord(spec);
  return true;
}

function chartRecord(spec: ChartSpec): ChartRecord {
  return {
    title: spec.title,
    labels: spec.series.map((s) => s.label),
    logY: spec.logY ?? false,
    logX: spec.logX ?? false,
    data: [spec.data.xs, ...spec.data.ys],
  };
}

/** Gives the redrawn charts with the same ids the zoom and hidden series they had. */
export function restoreChartViews(views: Map<string, ChartView>): void {
  for (const [id, u] of byId) {
    const v = views.get(id);
    if (!v) continue;
    u.series.forEach((s, i) => {
      if (i > 0 && typeof s.label === 'string' && v.hidden.has(s.label)) u.setSeries(i, { show: false });
    });
    if (v.zoom) u.setScale('x', v.zoom);
  }
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
  csv.addEventListener('click', () => download(`${spec.id}.csv`, chartCsv(specs.get(spec.id) ?? spec)));
  head.append(h, csv);
  const plot = document.createElement('div');
  box.append(head, plot);
  parent.append(box);

  const width = Math.max(320, Math.min(parent.clientWidth || 640, 760));
  const opts: uPlot.Options = {
    width,
    height: 260,
    scales: { x: spec.logX ? { time: false, distr: 3 } : { time: false }, y: spec.logY ? { distr: 3 } : {} },
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
          // markers only: no line joining them
          paths:
            s.kind === 'step'
              ? uPlot.paths.stepped?.({ align: 1 })
              : s.kind === 'points'
                ? () => null
                : undefined,
        }),
      ),
    ],
    bands: spec.bands?.map((b) => ({ series: [b.upper + 1, b.lower + 1], fill: b.fill })),
  };
  const data = [spec.data.xs, ...spec.data.ys] as uPlot.AlignedData;
  const u = new uPlot(opts, data, plot);
  live.add(u);
  byId.set(spec.id, u);
  specs.set(spec.id, spec);
  viewerHook().charts[spec.id] = chartRecord(spec);
  return u;
}
