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
import type { RunResult } from './run';
import { writeJsonAtomic } from './runlog';
import { readSweepPlan, SWEEP_FILE, type SweepPlan, type SweepRun, type SweepRunStatus } from './sweep-plan';
import { isAlive } from './sweep-status';
import { runResultOf, summarizeGroups } from './sweep-summary';
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
  if (plan.status === 'queued')
    throw new UsageError(
      `${dir}: the sweep is queued: workers train its runs (bmp-train sweep status ${dir}); to continue it here, cancel it first (bmp-train sweep cancel ${dir} --queue <redis-url>)`,
    );
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
    if ('stopped' in outcome) {
      // stopped before it reported its end: interrupted if it wrote anything, else not started
      await finish(run, existsSync(join(plan.dir, run.runName)) ? 'interrupted' : 'pending');
    } else if ('failure' in outcome) {
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

export { cancelSweep, formatStatus, formatSweep, isAlive, sweepStatus } from './sweep-status';
export { runResultOf, summarizeGroups } from './sweep-summary';
