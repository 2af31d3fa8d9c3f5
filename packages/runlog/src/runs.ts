import type { JsonlParseResult, LineProblem } from './jsonl';
import { parseJsonl } from './jsonl';
import type { OptimizerId } from './schema/common';
import type { RunConfig } from './schema/config';
import type { EpochRecord, MetricsRecord, StepRecord } from './schema/metrics';
import type { SeriesPoint } from './smoothing';
import { safeParseRunConfig } from './validate';

/** One run as read from its directory (or from files the user picked in the browser). */
export interface RunData {
  /** The run directory's name (or path relative to the log directory). */
  name: string;
  /** `config.json`, or null when missing or invalid (see `configProblem`). */
  config: RunConfig | null;
  configProblem?: string;
  /** Valid `metrics.jsonl` records in file order. */
  records: MetricsRecord[];
  /** Skipped `metrics.jsonl` lines. */
  problems: LineProblem[];
}

/**
 * Builds a `RunData` from file contents (browser-safe): `configText` is `config.json`, `metricsText`
 * `metrics.jsonl`; either may be missing. Never throws on bad content.
 */
export function runFromTexts(name: string, texts: { configText?: string; metricsText?: string }): RunData {
  let config: RunConfig | null = null;
  let configProblem: string | undefined;
  if (texts.configText === undefined) configProblem = 'config.json is missing';
  else {
    try {
      const r = safeParseRunConfig(JSON.parse(texts.configText));
      if (r.ok) config = r.value;
      else configProblem = `config.json: ${r.error}`;
    } catch (e) {
      configProblem = `config.json is not valid JSON: ${(e as Error).message}`;
    }
  }
  const m: JsonlParseResult<MetricsRecord> =
    texts.metricsText === undefined ? { records: [], problems: [], lines: 0 } : parseJsonl(texts.metricsText);
  const run: RunData = { name, config, records: m.records, problems: m.problems };
  if (configProblem !== undefined) run.configProblem = configProblem;
  return run;
}

/**
 * Epoch records sorted by epoch; when an epoch was logged more than once (a resumed run that had
 * already written it), the last record wins.
 */
export function epochRecords(records: readonly MetricsRecord[]): EpochRecord[] {
  const byEpoch = new Map<number, EpochRecord>();
  for (const r of records) if (r.type === 'epoch') byEpoch.set(r.epoch, r);
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/** Step records sorted by step; the last record of a repeated step wins. */
export function stepRecords(records: readonly MetricsRecord[]): StepRecord[] {
  const byStep = new Map<number, StepRecord>();
  for (const r of records) if (r.type === 'step') byStep.set(r.step, r);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

const firstEpoch = (run: RunData): EpochRecord | undefined =>
  run.records.find((r): r is EpochRecord => r.type === 'epoch');

/** What identifies a run in a comparison, from config.json or else its first epoch record. */
export interface RunIdentity {
  compareId: string | null;
  optimizer: OptimizerId | null;
  seed: number | null;
}

export function runIdentity(run: RunData): RunIdentity {
  const e = firstEpoch(run);
  return {
    compareId: run.config?.compareId ?? e?.compareId ?? null,
    optimizer: run.config?.optimizer ?? e?.optimizer ?? null,
    seed: run.config?.seed ?? e?.seed ?? null,
  };
}

export interface CompareGroup {
  /** null gathers the runs that belong to no comparison. */
  compareId: string | null;
  runs: RunData[];
  /** The group's runs by optimizer id (runs whose optimizer is unknown are left out), sorted by seed. */
  byOptimizer: Partial<Record<OptimizerId, RunData[]>>;
}

/** Groups runs by compareId (groups sorted by id, null last; runs by name within a group). */
export function groupByCompare(runs: readonly RunData[]): CompareGroup[] {
  const groups = new Map<string | null, RunData[]>();
  for (const run of runs) {
    const id = runIdentity(run).compareId;
    const g = groups.get(id);
    if (g) g.push(run);
    else groups.set(id, [run]);
  }
  const ids = [...groups.keys()].sort((a, b) =>
    a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0,
  );
  return ids.map((compareId) => {
    const members = groups.get(compareId)!.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const byOptimizer: Partial<Record<OptimizerId, RunData[]>> = {};
    for (const run of members) {
      const opt = runIdentity(run).optimizer;
      if (opt === null) continue;
      const list = byOptimizer[opt];
      if (list) list.push(run);
      else byOptimizer[opt] = [run];
    }
    for (const list of Object.values(byOptimizer)) {
      list.sort((a, b) => (runIdentity(a).seed ?? 0) - (runIdentity(b).seed ?? 0));
    }
    return { compareId, runs: members, byOptimizer };
  });
}

/** Numeric fields of an epoch record that can be plotted. */
export type EpochMetric =
  | 'trainLoss'
  | 'trainAccuracy'
  | 'valAccuracy'
  | 'valLoss'
  | 'testLoss'
  | 'testError'
  | 'testAccuracy'
  | 'lr'
  | 'imagesPerSecond'
  | 'wallTime'
  | 'epochSeconds';

/** What a series is plotted against: the epoch index, the global step, or seconds since the run's first record. */
export type SeriesAxis = 'epoch' | 'step' | 'relativeTime';

function xOf(r: { epoch?: number; step: number; wallTime: number }, axis: SeriesAxis, t0: number): number {
  if (axis === 'epoch') return r.epoch ?? Number.NaN;
  if (axis === 'step') return r.step;
  return r.wallTime - t0;
}

/** Earliest wall time of any record (a loop: spreading a long array into Math.min overflows the stack). */
function startTime(run: RunData): number {
  let t = Number.POSITIVE_INFINITY;
  for (const r of run.records) if (r.wallTime < t) t = r.wallTime;
  return t;
}

/** One metric of a run's epoch records, against `axis`; epochs without the metric are left out. */
export function epochSeries(run: RunData, metric: EpochMetric, axis: SeriesAxis = 'epoch'): SeriesPoint[] {
  const recs = epochRecords(run.records);
  const t0 = startTime(run);
  const out: SeriesPoint[] = [];
  for (const r of recs) {
    const y = r[metric];
    if (typeof y === 'number' && Number.isFinite(y)) out.push({ x: xOf(r, axis, t0), y });
  }
  return out;
}

/** Step-record loss (or lr) against step or relative time. */
export function stepSeries(
  run: RunData,
  metric: 'loss' | 'lr',
  axis: Exclude<SeriesAxis, 'epoch'> = 'step',
): SeriesPoint[] {
  const t0 = startTime(run);
  return stepRecords(run.records).map((r) => ({ x: xOf(r, axis, t0), y: r[metric] }));
}

/** Block names that appear in a run's `scales`, in first-seen order (forward order of the network). */
export function scaleBlockNames(run: RunData): string[] {
  const names = new Set<string>();
  for (const r of run.records) if (r.type !== 'event') for (const s of r.scales ?? []) names.add(s.name);
  return [...names];
}

/** One block's m, mW or mZ over the epochs of a scale-amended run. */
export function scaleSeries(
  run: RunData,
  block: string,
  field: 'm' | 'mW' | 'mZ',
  axis: SeriesAxis = 'epoch',
): SeriesPoint[] {
  const t0 = startTime(run);
  const out: SeriesPoint[] = [];
  for (const r of epochRecords(run.records)) {
    const s = r.scales?.find((b) => b.name === block);
    if (s) out.push({ x: xOf(r, axis, t0), y: s[field] });
  }
  return out;
}

export interface SeedAggregatePoint {
  epoch: number;
  /** Runs with a finite value at this epoch. */
  n: number;
  mean: number;
  /** Sample standard deviation (divisor n - 1); 0 when n = 1. */
  std: number;
  min: number;
  max: number;
}

/**
 * Mean and spread of one metric across runs (the seeds of one optimizer in a comparison), per epoch.
 * An epoch appears when at least one run has a finite value there; `n` says how many.
 */
export function aggregateSeeds(runs: readonly RunData[], metric: EpochMetric): SeedAggregatePoint[] {
  const values = new Map<number, number[]>();
  for (const run of runs) {
    for (const r of epochRecords(run.records)) {
      const y = r[metric];
      if (typeof y !== 'number' || !Number.isFinite(y)) continue;
      const list = values.get(r.epoch);
      if (list) list.push(y);
      else values.set(r.epoch, [y]);
    }
  }
  return [...values.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([epoch, ys]) => {
      const n = ys.length;
      const mean = ys.reduce((s, y) => s + y, 0) / n;
      const std = n > 1 ? Math.sqrt(ys.reduce((s, y) => s + (y - mean) ** 2, 0) / (n - 1)) : 0;
      return {
        epoch,
        n,
        mean,
        std,
        min: ys.reduce((a, b) => Math.min(a, b)),
        max: ys.reduce((a, b) => Math.max(a, b)),
      };
    });
}
