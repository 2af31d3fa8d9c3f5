import {
  aggregateSeeds,
  type EpochMetric,
  epochSeries,
  groupByCompare,
  type NamedSeries,
  OPTIMIZER_IDS,
  type RunData,
  type SeriesAxis,
  type SeriesPoint,
  smoothEma,
  stepRecords,
  stepSeries,
} from '@bmp/runlog';

/** Data for uPlot: one shared x array and one y array per series (null where a series has no point). */
export interface Aligned {
  xs: number[];
  ys: (number | null)[][];
}

/** Aligns series on the sorted union of their x values. */
export function alignSeries(series: readonly (readonly SeriesPoint[])[]): Aligned {
  const xs = [...new Set(series.flatMap((s) => s.map((p) => p.x)))]
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of s) {
      const i = index.get(p.x);
      if (i !== undefined) y[i] = p.y;
    }
    return y;
  });
  return { xs, ys };
}

/** Smoothing (TensorBoard's debiased EMA) of a series' own points, before alignment. */
export function smoothPoints(points: readonly SeriesPoint[], weight: number): SeriesPoint[] {
  if (weight <= 0) return points.slice();
  const ys = smoothEma(
    points.map((p) => p.y),
    weight,
  );
  return points.map((p, i) => ({ x: p.x, y: ys[i] }));
}

/** A log axis cannot show y <= 0: such points are dropped (the page says so). */
export function positiveOnly(points: readonly SeriesPoint[]): SeriesPoint[] {
  return points.filter((p) => p.y > 0);
}

/** What the run pages plot. */
export type CurveMetric = 'testError' | 'trainLoss' | 'lr' | 'imagesPerSecond';

export const CURVE_METRICS: { id: CurveMetric; title: string }[] = [
  { id: 'testError', title: 'test error' },
  { id: 'trainLoss', title: 'train loss' },
  { id: 'lr', title: 'learning rate' },
  { id: 'imagesPerSecond', title: 'images / s' },
];

export const AXIS_LABELS: Record<SeriesAxis, string> = {
  epoch: 'epoch',
  step: 'step',
  relativeTime: 'wall time (s)',
};

/**
 * One run's curve of `metric` against `axis`. Against step or wall time, train loss and lr come from
 * the step records when the run has them (denser than one point per epoch), else from epoch records.
 * Epoch records count from 0 at the end of the first epoch: x = epoch + 1 reads "after n epochs".
 */
export function runCurve(run: RunData, metric: CurveMetric, axis: SeriesAxis): SeriesPoint[] {
  if (
    axis !== 'epoch' &&
    (metric === 'trainLoss' || metric === 'lr') &&
    stepRecords(run.records).length > 0
  ) {
    return stepSeries(run, metric === 'trainLoss' ? 'loss' : 'lr', axis);
  }
  const pts = epochSeries(run, metric as EpochMetric, axis);
  return axis === 'epoch' ? pts.map((p) => ({ x: p.x + 1, y: p.y })) : pts;
}

export interface SeedBand {
  /** `<compareId> / <optimizer>`. */
  name: string;
  optimizer: string;
  compareId: string | null;
  /** Runs (seeds) in the group. */
  runs: string[];
  mean: SeriesPoint[];
  /** mean - std and mean + std (sample std, n - 1); equal to the mean where only one seed has a value. */
  lower: SeriesPoint[];
  upper: SeriesPoint[];
  /** Seeds with a value, per point. */
  n: number[];
}

/**
 * Mean and spread across seeds for each optimizer of each comparison (runs grouped by compareId, then
 * optimizer), against epoch (x = epoch + 1, as in `runCurve`). Uses @bmp/runlog's aggregateSeeds.
 */
export function seedBands(runs: readonly RunData[], metric: Exclude<CurveMetric, never>): SeedBand[] {
  const out: SeedBand[] = [];
  for (const group of groupByCompare(runs)) {
    for (const opt of OPTIMIZER_IDS) {
      const members = group.byOptimizer[opt];
      if (!members || members.length === 0) continue;
      const agg = aggregateSeeds(members, metric as EpochMetric);
      if (agg.length === 0) continue;
      out.push({
        name: `${group.compareId ?? '(no comparison)'} / ${opt}`,
        optimizer: opt,
        compareId: group.compareId,
        runs: members.map((r) => r.name),
        mean: agg.map((a) => ({ x: a.epoch + 1, y: a.mean })),
        lower: agg.map((a) => ({ x: a.epoch + 1, y: a.mean - a.std })),
        upper: agg.map((a) => ({ x: a.epoch + 1, y: a.mean + a.std })),
        n: agg.map((a) => a.n),
      });
    }
  }
  return out;
}

/** The series of a chart as named series, for CSV export. */
export function namedFromAligned(labels: readonly string[], a: Aligned): NamedSeries[] {
  return labels.map((name, i) => ({
    name,
    points: a.xs.flatMap((x, j) => {
      const y = a.ys[i][j];
      return y === null || y === undefined ? [] : [{ x, y }];
    }),
  }));
}
