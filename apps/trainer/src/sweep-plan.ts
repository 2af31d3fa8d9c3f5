/**
 * A sweep's plan: the cartesian product of its grid (with per-optimizer sub-grids), one run per point,
 * named from the keys that vary, each with its full resolved settings; stored as `<dir>/sweep.json`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkRunName, resolveSettings, type TrainSettings, UsageError } from './config';
import { RunDirError } from './errors';
import { readJson } from './runlog';
import { type GridAxis, type GridEntry, gridKeys, type SweepSpec } from './sweep-file';
import { resolveLogDir } from './train';

export type SweepRunStatus = 'pending' | 'running' | 'finished' | 'interrupted' | 'diverged' | 'failed';
/** 'queued': enqueued by `sweep --queue`, trained by workers (the runs' directories say how far). */
export type SweepStatus =
  | 'running'
  | 'queued'
  | 'completed'
  | 'interrupted'
  | 'diverged'
  | 'failed'
  | 'cancelled';

export interface SweepRunResult {
  epochs: number;
  finalTestError: number | null;
  bestTestError: number | null;
  finalTrainLoss: number | null;
  secondsPerEpoch: number | null;
}

export interface SweepRun {
  runName: string;
  /** The grid's values of this run (setting name -> value). */
  point: Record<string, unknown>;
  /** The point without its seed: the runs of a group differ only in the seed. */
  group: string;
  settings: TrainSettings;
  status: SweepRunStatus;
  exitCode?: number;
  message?: string;
  result?: SweepRunResult;
}

export interface SweepGroupRow {
  group: string;
  point: Record<string, unknown>;
  runs: number;
  finished: number;
  finalTestError: { mean: number | null; std: number | null };
  bestTestError: { mean: number | null; std: number | null };
  finalTrainLoss: { mean: number | null; std: number | null };
}

export interface SweepPlan {
  kind: 'bmp-train-sweep';
  version: 1;
  sweepId: string;
  dir: string;
  file: string | null;
  createdAt: string;
  preset: string | null;
  base: Partial<TrainSettings>;
  grid: GridEntry[];
  /** The keys that vary across runs (those in the run names), in the grid's order. */
  keys: string[];
  status: SweepStatus;
  /** The local process running it (status and cancel look at it), while it runs. */
  pid?: number;
  host?: string;
  runs: SweepRun[];
  groups?: SweepGroupRow[];
  resumes?: unknown[];
  cancelledAt?: string;
  /** `sweep --queue`: where its run jobs are (server without password, key prefix, run -> job id). */
  queue?: { server: string; prefix: string; runJobs: Record<string, string> };
}

type Point = Record<string, unknown>;

function expandAxes(axes: GridAxis[], points: Point[]): Point[] {
  let out = points;
  for (const a of axes) out = out.flatMap((p) => a.values.map((v) => ({ ...p, [a.key]: v })));
  return out;
}

/** Every point of the grid, in file order (the first key varies slowest). */
export function expandGrid(grid: GridEntry[]): Point[] {
  let points: Point[] = [{}];
  for (const e of grid) {
    if ('byOptimizer' in e)
      points = points.flatMap((p) =>
        e.byOptimizer.flatMap((b) => expandAxes(b.grid, [{ ...p, optimizer: b.optimizer }])),
      );
    else points = expandAxes([e], points);
  }
  return points;
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function valueText(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.join(typeof v[0] === 'number' ? 'x' : '+');
  return String(v);
}

/** One directory name: key-value pairs joined by '_', anything but [A-Za-z0-9.+-] replaced by '-'. */
export function pointName(point: Point, keys: string[]): string {
  if (keys.length === 0) return 'run';
  const name = keys
    .filter((k) => k in point)
    .map((k) => `${kebab(k)}-${valueText(point[k])}`)
    .join('_')
    .replace(/[^A-Za-z0-9.+_-]/g, '-');
  return checkRunName(name, 'sweep run name');
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** The plan of a sweep file: `logDir` and `name` from the command line override the file's. */
export function planSweep(
  spec: SweepSpec,
  overrides: { logDir?: string; name?: string; backend?: TrainSettings['backend'] } = {},
): SweepPlan {
  const name = checkRunName(overrides.name ?? spec.name ?? `sweep-${timestamp()}`, 'sweep name');
  const dir = join(resolveLogDir(overrides.logDir ?? spec.base.logDir ?? 'runs'), name);
  const points = expandGrid(spec.grid);
  const all = gridKeys(spec.grid);
  const keys = all.filter((k) => new Set(points.map((p) => JSON.stringify(p[k]))).size > 1);
  const groupKeys = keys.filter((k) => k !== 'seed');
  const runs: SweepRun[] = [];
  const names = new Set<string>();
  for (const point of points) {
    const runName = pointName(point, keys);
    if (names.has(runName))
      throw new UsageError(
        `sweep file ${spec.file}: the grid gives the run ${runName} twice (a value listed twice?)`,
      );
    names.add(runName);
    const explicit = { ...spec.base, ...point } as Partial<TrainSettings>;
    if (overrides.backend) explicit.backend = overrides.backend;
    let settings: TrainSettings;
    try {
      settings = resolveSettings(explicit, spec.preset, explicit.optimizer);
    } catch (e) {
      throw new UsageError(`sweep file ${spec.file}: run ${runName}: ${(e as Error).message}`);
    }
    runs.push({
      runName,
      point,
      group: groupKeys.length ? pointName(point, groupKeys) : 'all',
      settings: { ...settings, logDir: dir, runName },
      status: 'pending',
    });
  }
  return {
    kind: 'bmp-train-sweep',
    version: 1,
    sweepId: name,
    dir,
    file: resolve(spec.file),
    createdAt: new Date().toISOString(),
    preset: spec.preset ?? null,
    base: spec.base,
    grid: spec.grid,
    keys,
    status: 'running',
    runs,
  };
}

export const SWEEP_FILE = 'sweep.json';

/** A sweep's directory from a directory or an id (a name under `logDir`). */
export function sweepDir(dirOrId: string, logDir = 'runs'): string {
  if (existsSync(join(dirOrId, SWEEP_FILE))) return resolve(dirOrId);
  const underLogDir = join(resolveLogDir(logDir), dirOrId);
  if (existsSync(join(underLogDir, SWEEP_FILE))) return underLogDir;
  throw new UsageError(
    `${dirOrId}: not a sweep (no ${SWEEP_FILE} in ${resolve(dirOrId)} nor in ${underLogDir}); give the sweep's directory or its name under --log-dir`,
  );
}

export async function readSweepPlan(dir: string): Promise<SweepPlan> {
  const plan = await readJson<SweepPlan>(join(dir, SWEEP_FILE));
  if (plan?.kind !== 'bmp-train-sweep' || !Array.isArray(plan.runs))
    throw new RunDirError(`${join(dir, SWEEP_FILE)}: not a sweep plan (kind bmp-train-sweep)`);
  return plan;
}
