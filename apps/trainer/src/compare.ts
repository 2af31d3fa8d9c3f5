/**
 * `compare()`: the paper's experiment. For every seed, both optimizers (and every learning rate of the
 * sweep) start from the same initial weights and see the same batches; the initial-weights hash and each
 * epoch's batch-order hash are logged per run and checked to agree across the runs of a seed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { listCheckpoints, parseCheckpointName } from './checkpoint';
import { failureOf, type RunFailure, recordFailures } from './compare-failure';
import {
  OPTIMIZERS,
  type OptimizerId,
  RESUME_OVERRIDABLE,
  resolveSettings,
  type TrainSettings,
  UsageError,
} from './config';
import { NATIVE_THREADS_ENV } from './environment';
import { restore, snapshot, type TrainableModel } from './model';
import { callbackReporter, type ProgressEvent, type Reporter } from './progress';
import { type RunResult, readEpochRecords, runTraining } from './run';
import { readJson, readJsonl, writeJsonAtomic } from './runlog';
import { tf } from './tf';
import { type ModelInput, prepareRun, resolveLogDir, train, type UserData } from './train';
import { ensureWritableDir } from './writable';

export interface PlannedRun {
  runName: string;
  optimizer: OptimizerId;
  lr: number;
  seed: number;
  settings: TrainSettings;
}

export interface ComparePlan {
  kind: 'bmp-train-compare';
  version: 1;
  compareId: string;
  dir: string;
  createdAt: string;
  runs: PlannedRun[];
  /** One entry per `compare --resume`, with the settings it changed. */
  resumes?: unknown[];
}

export interface CompareOptions {
  settings?: Partial<TrainSettings>;
  preset?: string;
  /** Learning rates per optimizer (default: the preset's, else settings.lr). */
  lrs?: Partial<Record<OptimizerId, number[]>>;
  /** Seeds (default [settings.seed]). */
  seeds?: number[];
  /** Name of the comparison (its directory under the log dir). */
  name?: string;
  /**
   * Your model: a factory `(seed) => model` (one model per seed), or one model whose initial state is
   * restored before every run (then only one seed is possible).
   */
  model?: ModelInput | ((seed: number) => ModelInput);
  data?: UserData;
  onProgress?: (e: ProgressEvent) => void;
  reporter?: Reporter;
  signal?: AbortSignal;
  skipBackendSetup?: boolean;
}

export interface SummaryRow {
  optimizer: OptimizerId;
  lr: number;
  seeds: number;
  finalTestError: { mean: number | null; std: number | null };
  bestTestError: { mean: number | null; std: number | null };
  secondsPerEpoch: number | null;
}

export interface CompareResult {
  compareId: string;
  dir: string;
  runs: RunResult[];
  summary: SummaryRow[];
  checks: {
    seed: number;
    initWeightsHashes: string[];
    initWeightsMatch: boolean;
    orderHashesMatch: boolean;
  }[];
  status: 'completed' | 'interrupted' | 'diverged';
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function planCompare(options: CompareOptions): ComparePlan {
  const base = resolveSettings(options.settings ?? {}, options.preset, 'sgd');
  const seeds = options.seeds ?? [base.seed];
  if (seeds.length === 0) throw new UsageError('--seeds: at least one seed');
  const lrs: Record<OptimizerId, number[]> = { sgd: [], 'scale-amended': [] };
  for (const opt of OPTIMIZERS) {
    const given = options.lrs?.[opt];
    lrs[opt] =
      given && given.length > 0 ? given : [resolveSettings(options.settings ?? {}, options.preset, opt).lr];
    for (const lr of lrs[opt])
      if (!(lr > 0)) throw new UsageError(`--lr-${opt}: learning rates must be > 0, got ${lr}`);
  }
  const name = options.name ?? base.runName ?? `compare-${timestamp()}`;
  const dir = join(resolveLogDir(base.logDir), name);
  const runs: PlannedRun[] = [];
  for (const seed of seeds) {
    for (const optimizer of OPTIMIZERS) {
      for (const lr of lrs[optimizer]) {
        const runName = `${optimizer}-lr${lr}-seed${seed}`;
        const settings: TrainSettings = {
          ...resolveSettings({ ...(options.settings ?? {}), optimizer, lr, seed }, options.preset, optimizer),
          logDir: dir,
          runName,
        };
        runs.push({ runName, optimizer, lr, seed, settings });
      }
    }
  }
  return {
    kind: 'bmp-train-compare',
    version: 1,
    compareId: name,
    dir,
    createdAt: new Date().toISOString(),
    runs,
  };
}

function meanStd(xs: number[]): { mean: number | null; std: number | null } {
  if (xs.length === 0) return { mean: null, std: null };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, std: null };
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(v) };
}

export function summarize(plan: ComparePlan, runs: RunResult[]): Pick<CompareResult, 'summary' | 'checks'> {
  const summary: SummaryRow[] = [];
  const keys = new Map<string, RunResult[]>();
  for (const r of runs) {
    const k = `${r.optimizer}|${r.lr}`;
    keys.set(k, [...(keys.get(k) ?? []), r]);
  }
  for (const [k, group] of keys) {
    const [optimizer, lr] = k.split('|');
    const fin = group.map((r) => r.finalTestError).filter((x): x is number => x != null);
    const best = group.map((r) => r.bestTestError).filter((x): x is number => x != null);
    const spe = group.map((r) => r.secondsPerEpoch).filter((x): x is number => x != null);
    summary.push({
      optimizer: optimizer as OptimizerId,
      lr: Number(lr),
      seeds: group.length,
      finalTestError: meanStd(fin),
      bestTestError: meanStd(best),
      secondsPerEpoch: meanStd(spe).mean,
    });
  }
  const checks: CompareResult['checks'] = [];
  for (const seed of new Set(plan.runs.map((r) => r.seed))) {
    const group = runs.filter((r) => r.seed === seed);
    const hashes = group.map((r) => r.initWeightsHash);
    const orders = group.map((r) => r.epochs.map((e) => e.orderHash).join(','));
    // runs may have different lengths when one diverged: compare the common prefix
    const n = Math.min(...group.map((r) => r.epochs.length));
    const prefix = orders.map((o) => o.split(',').slice(0, n).join(','));
    checks.push({
      seed,
      initWeightsHashes: hashes,
      initWeightsMatch: new Set(hashes).size <= 1,
      orderHashesMatch: new Set(prefix).size <= 1,
    });
  }
  return { summary, checks };
}

const pct = (x: number | null) => (x == null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
const pm = (v: { mean: number | null; std: number | null }) =>
  v.mean == null ? 'n/a' : v.std == null ? pct(v.mean) : `${pct(v.mean)} ± ${(100 * v.std).toFixed(2)}`;

export function formatTable(result: Pick<CompareResult, 'summary'>): string {
  const header = ['optimizer', 'lr', 'seeds', 'final test error', 'best test error', 's / epoch'];
  const rows = result.summary.map((r) => [
    r.optimizer,
    String(r.lr),
    String(r.seeds),
    pm(r.finalTestError),
    pm(r.bestTestError),
    r.secondsPerEpoch == null ? 'n/a' : r.secondsPerEpoch.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function summaryFields(result: CompareResult) {
  return {
    summary: result.summary,
    checks: result.checks,
    results: result.runs.map(({ epochs: _e, ...r }) => r),
  };
}

async function writeSummary(plan: ComparePlan, result: CompareResult): Promise<void> {
  await writeJsonAtomic(join(plan.dir, 'compare.json'), {
    ...plan,
    status: result.status,
    ...summaryFields(result),
  });
}

/** Reads back a finished (or interrupted) run from its directory. */
export async function readRunResult(
  runDir: string,
  status: RunResult['status'],
  message?: string,
): Promise<RunResult> {
  const cfg = await readJson<{
    runName: string;
    optimizer: string;
    seed: number;
    compareId: string | null;
    initWeightsHash: string;
    settings: TrainSettings;
  }>(join(runDir, 'config.json'));
  const epochs = await readEpochRecords(join(runDir, 'metrics.jsonl'));
  const errs = epochs.map((e) => e.testError).filter((x): x is number => x !== undefined);
  return {
    runName: cfg.runName,
    runDir,
    optimizer: cfg.optimizer,
    lr: cfg.settings.lr,
    seed: cfg.seed,
    compareId: cfg.compareId,
    status,
    message,
    initWeightsHash: cfg.initWeightsHash,
    epochs,
    finalTestError: errs.length ? errs[errs.length - 1] : null,
    bestTestError: errs.length ? Math.min(...errs) : null,
    secondsPerEpoch: epochs.length
      ? epochs.reduce((t, e) => t + (e.epochSeconds ?? 0), 0) / epochs.length
      : null,
  };
}

function overallStatus(runs: RunResult[]): CompareResult['status'] {
  if (runs.some((r) => r.status === 'interrupted')) return 'interrupted';
  if (runs.some((r) => r.status === 'diverged')) return 'diverged';
  return 'completed';
}

/** Runs the comparison in this process, one run after the other. */
export async function compare(options: CompareOptions = {}): Promise<CompareResult> {
  const plan = planCompare(options);
  const seeds = [...new Set(plan.runs.map((r) => r.seed))];
  if (options.model && typeof options.model !== 'function' && seeds.length > 1) {
    throw new UsageError('compare(): several seeds need a model factory (seed) => model');
  }
  await ensureWritableDir(plan.dir, '--log-dir');
  await writeJsonAtomic(join(plan.dir, 'compare.json'), { ...plan, status: 'running' });
  const reporter = options.reporter ?? callbackReporter(options.onProgress);
  const results: RunResult[] = [];
  let current = plan.runs[0];
  try {
    await trainSeeds(plan, seeds, options, reporter, results, (run) => {
      current = run;
    });
  } catch (e) {
    const runDir = join(plan.dir, current.runName);
    throw await recordFailures(plan.dir, plan, plan.runs.length, [failureOf(current.runName, runDir, e)]);
  }
  const result: CompareResult = {
    compareId: plan.compareId,
    dir: plan.dir,
    runs: results,
    status: overallStatus(results),
    ...summarize(plan, results),
  };
  await writeSummary(plan, result);
  return result;
}

/** compare()'s loop: for each seed, the runs of both optimizers from the same initial weights. */
async function trainSeeds(
  plan: ComparePlan,
  seeds: number[],
  options: CompareOptions,
  reporter: Reporter,
  results: RunResult[],
  starting: (run: PlannedRun) => void,
): Promise<void> {
  outer: for (const seed of seeds) {
    const runs = plan.runs.filter((r) => r.seed === seed);
    starting(runs[0]);
    const userModel = typeof options.model === 'function' ? options.model(seed) : options.model;
    const prepared = await prepareRun(runs[0].settings, {
      model: userModel,
      data: options.data,
      skipBackendSetup: options.skipBackendSetup,
    });
    const model: TrainableModel = prepared.model;
    const initial = snapshot(model);
    try {
      for (const run of runs) {
        starting(run);
        restore(model, initial);
        const prep = options.data
          ? await prepareRun(run.settings, { model, data: options.data, skipBackendSetup: true })
          : prepared;
        const result = await runTraining({
          settings: run.settings,
          model,
          train: prep.train,
          val: prep.val,
          test: prep.test,
          numClasses: prep.numClasses,
          runDir: join(plan.dir, run.runName),
          runName: run.runName,
          compareId: plan.compareId,
          meta: prepared.meta,
          resume: false,
          reporter,
          backend: prepared.backend,
          signal: options.signal,
        });
        results.push(result);
        if (result.status === 'interrupted') break outer;
      }
    } finally {
      tf.dispose(initial);
      if (prepared.ownsModel) model.dispose?.();
    }
  }
}

/**
 * Runs the comparison's runs as child processes of the CLI (`train --compare-dir <dir> --compare-run <name>`),
 * `jobs` at a time, each with cores / jobs threads for the native kernels (BMP_NATIVE_THREADS, unless set).
 */
export async function compareInProcesses(
  options: CompareOptions & {
    cli: string;
    jobs: number;
    execArgv?: string[];
    /** Continue this (stored) plan: runs in `done` are skipped, the others resume or start. */
    resume?: { plan: ComparePlan; done: Map<string, RunResult> };
  },
): Promise<CompareResult> {
  const plan = options.resume?.plan ?? planCompare(options);
  await ensureWritableDir(plan.dir, '--log-dir');
  await writeJsonAtomic(join(plan.dir, 'compare.json'), { ...plan, status: 'running' });
  const reporter = options.reporter ?? callbackReporter(options.onProgress);
  const results = new Map<string, RunResult>(options.resume?.done ?? []);
  const queue = plan.runs.filter((r) => !results.has(r.runName));
  const children = new Set<ReturnType<typeof spawn>>();
  const failures: RunFailure[] = [];
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    // the same signal the comparison received (SIGINT or SIGTERM): each run checkpoints and stops
    const reason = options.signal?.reason;
    const sig = reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    for (const c of children) c.kill(sig);
  };
  options.signal?.addEventListener('abort', onAbort);
  const runOne = async (run: PlannedRun) => {
    const child = spawn(
      process.execPath,
      [
        ...(options.execArgv ?? []),
        options.cli,
        'train',
        '--compare-dir',
        plan.dir,
        '--compare-run',
        run.runName,
        ...(options.resume ? ['--compare-resume'] : []),
        '--json',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // Each run's native kernels get an equal share of the cores (at least one thread).
        env: {
          ...process.env,
          [NATIVE_THREADS_ENV]:
            process.env[NATIVE_THREADS_ENV] ??
            String(Math.max(1, Math.floor(availableParallelism() / options.jobs))),
        },
      },
    );
    children.add(child);
    let status: RunResult['status'] | null = null;
    let message: string | undefined;
    const stderr: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: ProgressEvent;
      try {
        e = JSON.parse(line) as ProgressEvent;
      } catch {
        reporter.event({ type: 'message', run: run.runName, level: 'info', text: line });
        return;
      }
      if (e.type === 'end') {
        status = e.status;
        message = e.message;
      }
      reporter.event(e);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
    const code: number = await new Promise((res) => child.on('close', (c) => res(c ?? 1)));
    children.delete(child);
    if (status == null) {
      // the run printed its error (one or two lines starting with 'error:'); it did not finish
      const runDir = join(plan.dir, run.runName);
      const text = stderr
        .filter((l) => l.trim() !== '')
        .slice(-3)
        .join(' ')
        .replace(/^error: /, '');
      failures.push({
        runName: run.runName,
        exitCode: code,
        message: text || `exited with code ${code}`,
        runDir: existsSync(runDir) ? runDir : null,
      });
      reporter.event({ type: 'message', run: run.runName, level: 'error', text: `failed: ${text}` });
      return;
    }
    results.set(run.runName, await readRunResult(join(plan.dir, run.runName), status, message));
  };
  const workers = Array.from({ length: Math.max(1, Math.min(options.jobs, queue.length)) }, async () => {
    for (;;) {
      if (interrupted) return;
      const next = queue.shift();
      if (!next) return;
      await runOne(next);
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const ordered = plan.runs.map((r) => results.get(r.runName)).filter((r): r is RunResult => r != null);
  const result: CompareResult = {
    compareId: plan.compareId,
    dir: plan.dir,
    runs: ordered,
    status: interrupted ? 'interrupted' : overallStatus(ordered),
    ...summarize(plan, ordered),
  };
  if (failures.length > 0)
    throw await recordFailures(plan.dir, plan, plan.runs.length, failures, summaryFields(result));
  await writeSummary(plan, result);
  return result;
}

/** The settings of one planned run (what a child process runs). */
export async function plannedRun(
  dir: string,
  runName: string,
): Promise<{ plan: ComparePlan; run: PlannedRun }> {
  const plan = await readJson<ComparePlan>(join(dir, 'compare.json'));
  const run = plan.runs.find((r) => r.runName === runName);
  if (!run) throw new UsageError(`--compare-run: no run '${runName}' in ${dir}/compare.json`);
  return { plan, run };
}

// ---- compare --resume ------------------------------------------------------------------------------

/** What is left to do for one planned run of a stored comparison. */
export type RunState = 'missing' | 'started-without-checkpoint' | 'resumable' | 'finished' | 'diverged';

export async function runState(runDir: string, epochs: number): Promise<RunState> {
  if (!existsSync(join(runDir, 'config.json'))) return 'missing';
  const metrics = join(runDir, 'metrics.jsonl');
  if (existsSync(metrics)) {
    const ends = (await readJsonl(metrics)).filter(
      (r) => r.type === 'event' && (r.event === 'stop' || r.event === 'interrupt' || r.event === 'resume'),
    );
    const last = ends[ends.length - 1] as { event: string; reason?: string } | undefined;
    // a diverged run would diverge again at the same step: it is reported, not rerun
    if (last?.event === 'stop' && last.reason === 'diverged') return 'diverged';
  }
  const [newest] = await listCheckpoints(runDir);
  if (newest == null) return 'started-without-checkpoint';
  const { epoch, batch } = parseCheckpointName(newest)!;
  return epoch >= epochs && batch === 0 ? 'finished' : 'resumable';
}

/** The settings a resumed run may take from the (updated) plan: the overridable ones. */
export function overridableSettings(s: TrainSettings): Partial<TrainSettings> {
  const out: Partial<TrainSettings> = {};
  for (const k of RESUME_OVERRIDABLE) (out as Record<string, unknown>)[k] = s[k];
  return out;
}

/**
 * Reads a stored comparison's plan and applies `overrides` (only the settings a run resume may change:
 * epochs, checkpoint/log cadence, backend, data directory), refusing any other change.
 */
export async function resumePlan(dir: string, overrides: Partial<TrainSettings>): Promise<ComparePlan> {
  const file = join(dir, 'compare.json');
  if (!existsSync(file))
    throw new UsageError(`--resume ${dir}: no compare.json there (not a comparison directory)`);
  const stored = await readJson<ComparePlan & { resumes?: unknown[] }>(file);
  if (stored.kind !== 'bmp-train-compare' || !Array.isArray(stored.runs))
    throw new UsageError(`--resume ${dir}: ${file} is not a bmp-train comparison plan`);
  const runs = stored.runs.map((run) => {
    const settings = { ...run.settings };
    for (const [k, v] of Object.entries(overrides) as Array<[keyof TrainSettings, unknown]>) {
      if (v === undefined || JSON.stringify(v) === JSON.stringify(settings[k])) continue;
      if (!RESUME_OVERRIDABLE.has(k))
        throw new UsageError(
          `compare --resume: cannot change '${k}' of a stored comparison (stored ${JSON.stringify(settings[k])}, given ${JSON.stringify(v)}); changeable: ${[...RESUME_OVERRIDABLE].join(', ')}`,
        );
      (settings as unknown as Record<string, unknown>)[k] = v;
    }
    return { ...run, settings };
  });
  return {
    kind: 'bmp-train-compare',
    version: 1,
    compareId: stored.compareId,
    dir: resolve(dir),
    createdAt: stored.createdAt,
    runs,
    resumes: [...(stored.resumes ?? []), { at: new Date().toISOString(), overrides }],
  };
}

/**
 * Continues an interrupted comparison: finished (and diverged) runs are read back, runs with a
 * checkpoint resume from it, runs never started (or started without a checkpoint, moved aside) start.
 * On the same backend the results equal those of an uninterrupted comparison.
 */
export async function resumeCompare(
  options: Omit<CompareOptions, 'settings' | 'model' | 'data' | 'lrs' | 'seeds' | 'name' | 'preset'> & {
    dir: string;
    /** Overridable settings (e.g. a larger `epochs`). */
    settings?: Partial<TrainSettings>;
    /** Runs at once in child processes (default 1: in this process). */
    jobs?: number;
    cli?: string;
    execArgv?: string[];
  },
): Promise<CompareResult> {
  const plan = await resumePlan(options.dir, options.settings ?? {});
  const reporter = options.reporter ?? callbackReporter(options.onProgress);
  const done = new Map<string, RunResult>();
  const todo: Array<{ run: PlannedRun; resume: boolean }> = [];
  for (const run of plan.runs) {
    const runDir = join(plan.dir, run.runName);
    const state = await runState(runDir, run.settings.epochs);
    if (state === 'finished' || state === 'diverged') {
      done.set(run.runName, await readRunResult(runDir, state === 'finished' ? 'completed' : 'diverged'));
      reporter.event({ type: 'message', run: run.runName, level: 'info', text: `${state}: skipped` });
      continue;
    }
    // a run started without a checkpoint resumes from its first step (train --resume does that)
    todo.push({ run, resume: state !== 'missing' });
  }
  if ((options.jobs ?? 1) > 1) {
    if (!options.cli) throw new Error('resumeCompare: jobs > 1 needs the CLI path (cli)');
    return compareInProcesses({
      reporter,
      signal: options.signal,
      cli: options.cli,
      jobs: options.jobs!,
      execArgv: options.execArgv,
      resume: { plan, done },
    });
  }
  await writeJsonAtomic(join(plan.dir, 'compare.json'), { ...plan, status: 'running' });
  for (const { run, resume } of todo) {
    const runDir = join(plan.dir, run.runName);
    const common = { reporter, signal: options.signal, skipBackendSetup: options.skipBackendSetup };
    let result: RunResult;
    try {
      result = resume
        ? await train({ resume: runDir, settings: overridableSettings(run.settings), ...common })
        : await train({ settings: run.settings, compareId: plan.compareId, ...common });
    } catch (e) {
      throw await recordFailures(plan.dir, plan, plan.runs.length, [failureOf(run.runName, runDir, e)]);
    }
    done.set(run.runName, result);
    if (result.status === 'interrupted') break;
  }
  const ordered = plan.runs.map((r) => done.get(r.runName)).filter((r): r is RunResult => r != null);
  const result: CompareResult = {
    compareId: plan.compareId,
    dir: plan.dir,
    runs: ordered,
    status: ordered.length < plan.runs.length ? 'interrupted' : overallStatus(ordered),
    ...summarize(plan, ordered),
  };
  await writeSummary(plan, result);
  return result;
}
