/** A comparison's runs as child processes of the CLI, `jobs` at a time. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type RunFailure, recordFailures } from './compare-failure';
import { type CompareOptions, type ComparePlan, type PlannedRun, planCompare } from './compare-plan';
import {
  type CompareResult,
  overallStatus,
  readRunResult,
  summarize,
  summaryFields,
  writeSummary,
} from './compare-summary';
import { NATIVE_THREADS_ENV } from './environment';
import { EXIT } from './errors';
import { callbackReporter, type ProgressEvent, type Reporter } from './progress';
import type { RunResult } from './run';
import { writeJsonAtomic } from './runlog';
import { ensureWritableDir } from './writable';

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
  const children = new Set<ChildProcess>();
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
    const outcome = await runChild(plan, run, options, reporter, children);
    if ('stopped' in outcome) return; // not in the results: the comparison is interrupted, --resume continues it
    if ('failure' in outcome) failures.push(outcome.failure);
    else
      results.set(
        run.runName,
        await readRunResult(join(plan.dir, run.runName), outcome.status, outcome.message),
      );
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

export type ChildOptions = {
  cli: string;
  jobs: number;
  execArgv?: string[];
  resume?: unknown;
  /** The arguments of `train` that name the run (default: --compare-dir, --compare-run of the plan). */
  trainArgs?: string[];
};

/** One run as `bmp-train train --compare-dir ... --json`: its progress relayed, its end or its failure. */
export async function runChild(
  plan: Pick<ComparePlan, 'dir'>,
  run: Pick<PlannedRun, 'runName'>,
  options: ChildOptions,
  reporter: Reporter,
  children: Set<ChildProcess>,
): Promise<{ status: RunResult['status']; message?: string } | { failure: RunFailure } | { stopped: true }> {
  const child = spawn(
    process.execPath,
    [
      ...(options.execArgv ?? []),
      options.cli,
      'train',
      ...(options.trainArgs ?? [
        '--compare-dir',
        plan.dir,
        '--compare-run',
        run.runName,
        ...(options.resume ? ['--compare-resume'] : []),
      ]),
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
  let end: { status: RunResult['status']; message?: string } | null = null;
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: ProgressEvent;
    try {
      e = JSON.parse(line) as ProgressEvent;
    } catch {
      reporter.event({ type: 'message', run: run.runName, level: 'info', text: line });
      return;
    }
    if (e.type === 'end') end = { status: e.status, message: e.message };
    reporter.event(e);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) =>
    child.on('close', (c, s) => res([c, s])),
  );
  children.delete(child);
  if (end) return end;
  // Stopped by the signal passed on to it before it could report (still starting, or between a
  // checkpoint and its end event): not a failure; the run is continued by --resume.
  if (stoppedBySignal(code, signal)) return { stopped: true };
  // the run printed its error (one or two lines starting with 'error:'); it did not finish
  const runDir = join(plan.dir, run.runName);
  const text = stderr
    .filter((l) => l.trim() !== '')
    .slice(-3)
    .join(' ')
    .replace(/^error: /, '');
  reporter.event({ type: 'message', run: run.runName, level: 'error', text: `failed: ${text}` });
  return {
    failure: {
      runName: run.runName,
      exitCode: code ?? 1,
      message: text || (signal ? `killed by ${signal}` : `exited with code ${code}`),
      runDir: existsSync(runDir) ? runDir : null,
    },
  };
}

/** A child that died of SIGINT/SIGTERM, or exited with their codes (130, 143). */
function stoppedBySignal(code: number | null, signal: NodeJS.Signals | null): boolean {
  return signal === 'SIGINT' || signal === 'SIGTERM' || code === EXIT.sigint || code === EXIT.sigterm;
}
