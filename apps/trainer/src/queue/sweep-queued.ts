/**
 * `sweep --queue`: the sweep planned here (same run names, same sweep.json), each run enqueued as a run
 * job for the `bmp-train worker`s sharing --log-dir, then followed until every run has ended; the
 * summary is written into sweep.json here, as a local sweep writes it. `--detach` returns after
 * enqueueing (`sweep status` reads the runs' directories).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Queue } from 'bullmq';
import { runState } from '../compare-resume';
import { UsageError } from '../errors';
import { writeJsonAtomic } from '../runlog';
import { readSweepPlan, SWEEP_FILE, type SweepPlan } from '../sweep-plan';
import { runResultOf, summarizeGroups } from '../sweep-summary';
import { ensureWritableDir } from '../writable';
import { type CancelOutcome, cancelRunJobs } from './cancel';
import { KEEP_ENDED_JOBS } from './enqueue';
import { type EndedRun, type FollowOptions, followRunJobs } from './follow';
import { RUN_JOB_ATTEMPTS, RUN_JOB_BACKOFF, RUNS_QUEUE, type RunJobData } from './job-data';
import { bullConnection, type RedisTarget } from './redis-url';

/** Where a queued sweep's jobs are: stored in sweep.json (`queue`), without any password. */
export type QueuedSweep = NonNullable<SweepPlan['queue']>;

export async function enqueueSweep(
  plan: SweepPlan,
  target: RedisTarget,
  prefix: string,
): Promise<QueuedSweep> {
  if (existsSync(join(plan.dir, SWEEP_FILE)))
    throw new UsageError(`${plan.dir} already holds a sweep: give the sweep another name`);
  await ensureWritableDir(plan.dir, '--log-dir');
  const sweepPath = basename(plan.dir);
  const tag = Date.now().toString(36);
  const runJobs: Record<string, string> = {};
  for (const r of plan.runs) runJobs[r.runName] = `${plan.sweepId}.${r.runName}.${tag}`;
  const queued: QueuedSweep = { server: target.display, prefix, runJobs };
  await writeJsonAtomic(join(plan.dir, SWEEP_FILE), { ...plan, status: 'queued', queue: queued });
  const queue = new Queue(RUNS_QUEUE, { connection: bullConnection(target), prefix });
  try {
    await queue.addBulk(
      plan.runs.map((r) => ({
        name: 'run',
        data: {
          runPath: `${sweepPath}/${r.runName}`,
          settings: r.settings,
          compareId: plan.sweepId,
        } satisfies RunJobData,
        opts: {
          jobId: runJobs[r.runName],
          attempts: RUN_JOB_ATTEMPTS,
          backoff: RUN_JOB_BACKOFF,
          ...KEEP_ENDED_JOBS,
        },
      })),
    );
  } finally {
    await queue.close();
  }
  return queued;
}

/**
 * Follows a queued sweep until its runs have ended, then records each run's end and the per-group summary
 * in sweep.json. Null when the coordinator was interrupted (the runs go on on the workers).
 */
export async function followSweep(
  plan: SweepPlan,
  target: RedisTarget,
  queued: QueuedSweep,
  options: FollowOptions,
): Promise<SweepPlan | null> {
  // `sweep cancel` (from anywhere) marks sweep.json first: stop following, keep its record
  const stop = new AbortController();
  const cancelled = () => readSweepStatus(plan.dir) === 'cancelled';
  const watch = setInterval(() => cancelled() && stop.abort(), 1000);
  let ended: Map<string, EndedRun> | null;
  try {
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    ended = await followRunJobs(target, queued.prefix, queued.runJobs, { ...options, signal });
  } finally {
    clearInterval(watch);
  }
  if (cancelled()) return readSweepPlan(plan.dir);
  if (ended == null) return null;
  for (const run of plan.runs) await recordEnd(plan, run.runName, ended.get(run.runName));
  plan.groups = summarizeGroups(plan);
  plan.status = plan.runs.some((r) => r.status === 'failed')
    ? 'failed'
    : plan.runs.some((r) => r.status === 'diverged')
      ? 'diverged'
      : 'completed';
  await writeJsonAtomic(join(plan.dir, SWEEP_FILE), { ...plan, queue: queued });
  return plan;
}

/** sweep.json's status now (null while it cannot be read). */
function readSweepStatus(dir: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(dir, SWEEP_FILE), 'utf8')) as SweepPlan).status;
  } catch {
    return null;
  }
}

/**
 * `sweep cancel` of a queued sweep: sweep.json says 'cancelled' first (a coordinator following it stops),
 * then waiting run jobs are removed and running ones stop at a checkpoint; each run's status is then
 * read from its directory, and `sweep --resume <dir>` continues the sweep on this machine.
 */
export async function cancelQueuedSweep(
  plan: SweepPlan,
  target: RedisTarget,
): Promise<{ plan: SweepPlan; outcome: CancelOutcome }> {
  const queued = plan.queue;
  if (!queued) throw new UsageError(`${plan.dir}: not a queued sweep`);
  plan.status = 'cancelled';
  plan.cancelledAt = new Date().toISOString();
  await writeJsonAtomic(join(plan.dir, SWEEP_FILE), plan);
  const outcome = await cancelRunJobs(target, queued.prefix, queued.runJobs);
  for (const run of plan.runs) {
    const runDir = join(plan.dir, run.runName);
    const state = await runState(runDir, run.settings.epochs);
    run.status =
      state === 'missing' ? 'pending' : state === 'finished' || state === 'diverged' ? state : 'interrupted';
    if (state !== 'missing' && existsSync(join(runDir, 'metrics.jsonl')))
      run.result = await runResultOf(runDir);
  }
  plan.groups = summarizeGroups(plan);
  await writeJsonAtomic(join(plan.dir, SWEEP_FILE), plan);
  return { plan, outcome };
}

async function recordEnd(plan: SweepPlan, runName: string, end: EndedRun | undefined): Promise<void> {
  const run = plan.runs.find((r) => r.runName === runName);
  if (!run) return;
  if (end?.state === 'completed') {
    run.status = end.result.status === 'completed' ? 'finished' : end.result.status;
    if (end.result.message) run.message = end.result.message;
    run.result = await runResultOf(join(plan.dir, runName));
    return;
  }
  run.status = 'failed';
  run.message = end?.reason ?? 'the job is gone';
}
