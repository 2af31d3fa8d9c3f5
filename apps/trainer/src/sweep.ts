/**
 * Running a sweep locally: its runs `jobs` at a time (child processes of the CLI, as compare's; in this
 * process with jobs 1), sweep.json updated as each run starts and ends, then the per-run and per-group
 * summary. `resumeSweep` continues a stored sweep (finished runs skipped, the others resumed from their
 * checkpoints or started); `sweepStatus` and `cancelSweep` read and mark one.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CATEGORY_OF_EXIT, failureOf, type RunFailure } from './compare-failure';
import { runChild } from './compare-processes';
import { overridableSettings, runState } from './compare-resume';
import type { TrainSettings } from './config';
import { type ErrorCategory, EXIT, UsageError } from './errors';
import type { Reporter } from './progress';
import { type RunResult, readEpochRecords } from './run';
import { writeJsonAtomic } from './runlog';
import {
  readSweepPlan,
  SWEEP_FILE,
  type SweepGroupRow,
  type SweepPlan,
  type SweepRun,
  type SweepRunResult,
  type SweepRunStatus,
} from './sweep-plan';
import { train } from './train';
import { ensureWritableDir } from './writable';

export interface SweepOptions {
  reporter: Reporter;
  signal?: AbortSignal;
  /** Runs at once; above 1 each run is a child process of `cli`. */
  jobs: number;
  cli?: string;
  execArgv?: string[];
}

export class SweepFailedError extends Error {
  override name = 'SweepFailedError';
  readonly category: ErrorCategory;
  constructor(plan: SweepPlan, failures: RunFailure[]) {
    super(
      [
        `${failures.length} of ${plan.runs.length} run(s) of the sweep in ${plan.dir} failed:`,
        ...failures.map(
          (f) =>
            `  ${f.runName} (exit ${f.exitCode}): ${f.message.split('\n').join(' ')}; logs: ${f.runDir ?? 'none (it did not start)'}`,
        ),
        `fix the cause, then continue with: bmp-train sweep --resume ${plan.dir}`,
      ].join('\n'),
    );
    this.category = CATEGORY_OF_EXIT.get(failures[0]?.exitCode ?? EXIT.internal) ?? 'internal';
  }
}

/** Writes sweep.json, one write after the other (runs end concurrently). */
function saver(plan: SweepPlan): () => Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  return () => {
    chain = chain.then(() => writeJsonAtomic(join(plan.dir, SWEEP_FILE), plan));
    return chain;
  };
}

/** Starts a planned sweep (its directory must not hold one). */
export async function runSweep(plan: SweepPlan, options: SweepOptions): Promise<SweepPlan> {
  if (existsSync(join(plan.dir, SWEEP_FILE)))
    throw new UsageError(
      `${plan.dir} already holds a sweep: continue it with bmp-train sweep --resume ${plan.dir}, or give the sweep another name`,
    );
  await ensureWritableDir(plan.dir, '--log-dir');
  return execute(plan, options, new Map());
}

/** Continues a stored sweep: finished and diverged runs are kept, the others resume or start. */
export type SweepResumeOverrides = Partial<Pick<TrainSettings, 'backend' | 'dataDir' | 'epochs'>>;

export async function resumeSweep(
  dir: string,
  overrides: SweepResumeOverrides,
  options: SweepOptions,
): Promise<SweepPlan> {
  const plan = await readSweepPlan(dir);
  if (isAlive(plan))
    throw new UsageError(`${dir}: the sweep is running (process ${plan.pid}); stop it first (Ctrl-C there)`);
  const resumeFlags = new Map<string, boolean>();
  for (const run of plan.runs) {
    for (const [k, v] of Object.entries(overrides))
      if (v !== undefined) (run.settings as unknown as Record<string, unknown>)[k] = v;
    const runDir = join(plan.dir, run.runName);
    const state = await runState(runDir, run.settings.epochs);
    if (state === 'finished' || state === 'diverged') {
      run.status = state;
      run.result = await runResultOf(runDir);
      options.reporter.event({ type: 'message', run: run.runName, level: 'info', text: `${state}: skipped` });
      continue;
    }
    run.status = 'pending';
    resumeFlags.set(run.runName, state !== 'missing');
  }
  plan.resumes = [...(plan.resumes ?? []), { at: new Date().toISOString(), overrides }];
  delete plan.cancelledAt;
  return execute(plan, options, resumeFlags);
}

async function execute(
  plan: SweepPlan,
  options: SweepOptions,
  resumeFlags: Map<string, boolean>,
): Promise<SweepPlan> {
  const save = saver(plan);
  const { reporter, signal } = options;
  plan.status = 'running';
  plan.pid = process.pid;
  plan.host = hostname();
  await save();
  const queue = plan.runs.filter((r) => r.status === 'pending');
  const failures: RunFailure[] = [];
  let interrupted = signal?.aborted ?? false;
  const onAbort = () => {
    interrupted = true;
  };
  signal?.addEventListener('abort', onAbort);
  const finish = async (run: SweepRun, status: SweepRunStatus, extra: Partial<SweepRun> = {}) => {
    Object.assign(run, { status, ...extra });
    const runDir = join(plan.dir, run.runName);
    if (existsSync(join(runDir, 'metrics.jsonl'))) run.result = await runResultOf(runDir);
    await save();
  };
  const inProcess = async (run: SweepRun) => {
    const runDir = join(plan.dir, run.runName);
    try {
      const result: RunResult = resumeFlags.get(run.runName)
        ? await train({ resume: runDir, settings: overridableSettings(run.settings), reporter, signal })
        : await train({ settings: run.settings, compareId: plan.sweepId, reporter, signal });
      await finish(run, statusOf(result.status), result.message ? { message: result.message } : {});
    } catch (e) {
      const f = failureOf(run.runName, runDir, e);
      failures.push(f);
      reporter.event({ type: 'message', run: run.runName, level: 'error', text: `failed: ${f.message}` });
      await finish(run, 'failed', { exitCode: f.exitCode, message: f.message });
    }
  };
  const children = new Set<import('node:child_process').ChildProcess>();
  const onAbortChildren = () => {
    const sig = signal?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    for (const c of children) c.kill(sig);
  };
  signal?.addEventListener('abort', onAbortChildren);
  const inChild = async (run: SweepRun) => {
    if (!options.cli) throw new Error('runSweep: jobs > 1 needs the CLI path (cli)');
    const outcome = await runChild(
      plan,
      run,
      {
        cli: options.cli,
        jobs: options.jobs,
        execArgv: options.execArgv,
        trainArgs: ['--sweep-dir', plan.dir, '--sweep-run', run.runName],
      },
      reporter,
      children,
    );
    if ('failure' in outcome) {
      failures.push(outcome.failure);
      await finish(run, 'failed', { exitCode: outcome.failure.exitCode, message: outcome.failure.message });
    } else await finish(run, statusOf(outcome.status), outcome.message ? { message: outcome.message } : {});
  };
  const one = options.jobs > 1 ? inChild : inProcess;
  const workers = Array.from({ length: Math.max(1, Math.min(options.jobs, queue.length)) }, async () => {
    for (;;) {
      if (interrupted) return;
      const next = queue.shift();
      if (!next) return;
      next.status = 'running';
      delete next.exitCode;
      delete next.message;
      await save();
      if (interrupted) {
        // stopped while sweep.json was written: the run has not started
        next.status = 'pending';
        await save();
        return;
      }
      await one(next);
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    signal?.removeEventListener('abort', onAbortChildren);
  }
  plan.groups = summarizeGroups(plan);
  plan.status = failures.length
    ? 'failed'
    : interrupted || plan.runs.some((r) => r.status !== 'finished' && r.status !== 'diverged')
      ? 'interrupted'
      : plan.runs.some((r) => r.status === 'diverged')
        ? 'diverged'
        : 'completed';
  delete plan.pid;
  delete plan.host;
  await save();
  const order = new Map(plan.runs.map((r, i) => [r.runName, i]));
  failures.sort((a, b) => (order.get(a.runName) ?? 0) - (order.get(b.runName) ?? 0));
  if (failures.length) throw new SweepFailedError(plan, failures);
  return plan;
}

function statusOf(s: RunResult['status']): SweepRunStatus {
  return s === 'completed' ? 'finished' : s;
}

/** A run's numbers from its metrics.jsonl. */
export async function runResultOf(runDir: string): Promise<SweepRunResult> {
  const epochs = await readEpochRecords(join(runDir, 'metrics.jsonl'));
  const errs = epochs.map((e) => e.testError).filter((x): x is number => x !== undefined);
  const last = epochs[epochs.length - 1];
  return {
    epochs: epochs.length,
    finalTestError: errs.length ? errs[errs.length - 1] : null,
    bestTestError: errs.length ? Math.min(...errs) : null,
    finalTrainLoss: last ? last.trainLoss : null,
    secondsPerEpoch: epochs.length
      ? epochs.reduce((t, e) => t + (e.epochSeconds ?? 0), 0) / epochs.length
      : null,
  };
}

function meanStd(xs: Array<number | null | undefined>): { mean: number | null; std: number | null } {
  const v = xs.filter((x): x is number => x != null);
  if (v.length === 0) return { mean: null, std: null };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  if (v.length < 2) return { mean, std: null };
  return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) };
}

/** Mean ± std over the seeds of each group (the runs that differ only in their seed), finished runs only. */
export function summarizeGroups(plan: SweepPlan): SweepGroupRow[] {
  const groups = new Map<string, SweepRun[]>();
  for (const r of plan.runs) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  return [...groups].map(([group, runs]) => {
    const done = runs.filter((r) => r.status === 'finished');
    const { seed: _seed, ...point } = runs[0].point;
    return {
      group,
      point,
      runs: runs.length,
      finished: done.length,
      finalTestError: meanStd(done.map((r) => r.result?.finalTestError)),
      bestTestError: meanStd(done.map((r) => r.result?.bestTestError)),
      finalTrainLoss: meanStd(done.map((r) => r.result?.finalTrainLoss)),
    };
  });
}

/** Whether the sweep's recorded process still runs (on this host). */
export function isAlive(plan: SweepPlan): boolean {
  if (plan.status !== 'running' || plan.pid == null || plan.host !== hostname()) return false;
  try {
    process.kill(plan.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SweepRunState {
  runName: string;
  state: SweepRunStatus | 'stopped';
  epoch: number;
  epochs: number;
  testError: number | null;
}

async function queuedRunState(runDir: string, epochs: number): Promise<SweepRunStatus> {
  const state = await runState(runDir, epochs);
  return state === 'missing' ? 'pending' : state === 'finished' || state === 'diverged' ? state : 'running';
}

/** Each run's state now: sweep.json's, with the epochs done read from its metrics.jsonl. */
export async function sweepStatus(
  dir: string,
): Promise<{ plan: SweepPlan; alive: boolean; runs: SweepRunState[] }> {
  const plan = await readSweepPlan(dir);
  const alive = isAlive(plan);
  const runs: SweepRunState[] = [];
  for (const run of plan.runs) {
    let epochs = run.result?.epochs ?? 0;
    let testError = run.result?.finalTestError ?? null;
    try {
      const r = await runResultOf(join(plan.dir, run.runName));
      epochs = r.epochs;
      testError = r.finalTestError;
    } catch {
      // a line being written: keep sweep.json's numbers
    }
    // 'running' in a sweep whose process is gone (killed): it stopped without saying so
    let state: SweepRunState['state'] = run.status === 'running' && !alive ? 'stopped' : run.status;
    // queued (sweep --queue): workers train the runs; their directories say how far they are
    if (plan.status === 'queued')
      state = await queuedRunState(join(plan.dir, run.runName), run.settings.epochs);
    runs.push({ runName: run.runName, state, epoch: epochs, epochs: run.settings.epochs, testError });
  }
  return { plan, alive, runs };
}

/**
 * Cancels a local sweep: a running one is sent SIGINT (as Ctrl-C: every running run checkpoints and
 * stops, runs not started stay pending) and waited for; then sweep.json says 'cancelled'.
 * `sweep --resume` takes a cancelled sweep up again.
 */
export async function cancelSweep(dir: string, waitMs = 120_000): Promise<SweepPlan> {
  let plan = await readSweepPlan(dir);
  if (isAlive(plan)) {
    process.kill(plan.pid!, 'SIGINT');
    const until = Date.now() + waitMs;
    while (isAlive(plan) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      plan = await readSweepPlan(dir);
    }
    if (isAlive(plan))
      throw new UsageError(`${dir}: the sweep (process ${plan.pid}) did not stop within ${waitMs / 1000} s`);
  }
  if (plan.status === 'completed') return plan;
  plan.status = 'cancelled';
  plan.cancelledAt = new Date().toISOString();
  delete plan.pid;
  delete plan.host;
  await writeJsonAtomic(join(dir, SWEEP_FILE), plan);
  return plan;
}

const pct = (x: number | null | undefined) => (x == null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
const pm = (v: { mean: number | null; std: number | null }, f: (x: number) => string) =>
  v.mean == null ? 'n/a' : v.std == null ? f(v.mean) : `${f(v.mean)} ± ${f(v.std).replace('%', '')}`;

function table(header: string[], rows: string[][], left = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The per-run and per-group tables. */
export function formatSweep(plan: SweepPlan): string {
  const runs = table(
    ['run', 'status', 'epochs', 'final test error', 'best test error', 'train loss'],
    plan.runs.map((r) => [
      r.runName,
      r.status,
      `${r.result?.epochs ?? 0}/${r.settings.epochs}`,
      pct(r.result?.finalTestError),
      pct(r.result?.bestTestError),
      r.result?.finalTrainLoss == null ? 'n/a' : r.result.finalTrainLoss.toFixed(4),
    ]),
    2,
  );
  const groups = plan.groups ?? summarizeGroups(plan);
  if (!plan.keys.includes('seed')) return runs;
  const grouped = table(
    ['group (mean ± std over seeds)', 'runs', 'final test error', 'best test error', 'train loss'],
    groups.map((g) => [
      g.group,
      `${g.finished}/${g.runs}`,
      pm(g.finalTestError, pct),
      pm(g.bestTestError, pct),
      pm(g.finalTrainLoss, (x) => x.toFixed(4)),
    ]),
  );
  return `${runs}\n\n${grouped}`;
}

/** `sweep status`: one line per run. */
export function formatStatus(s: Awaited<ReturnType<typeof sweepStatus>>): string {
  const head = `sweep ${s.plan.sweepId} (${s.plan.dir}): ${s.plan.status}${s.alive ? ` (process ${s.plan.pid})` : s.plan.status === 'running' ? ' (its process is gone: continue with bmp-train sweep --resume)' : ''}`;
  return [
    head,
    table(
      ['run', 'state', 'epoch', 'test error'],
      s.runs.map((r) => [r.runName, r.state, `${r.epoch}/${r.epochs}`, pct(r.testError)]),
      2,
    ),
  ].join('\n');
}
