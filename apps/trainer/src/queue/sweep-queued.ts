/**
 * `sweep --queue`: the sweep planned here (same run names, same sweep.json), each run enqueued as a run
 * job for the `bmp-train worker`s sharing --log-dir, then followed until every run has ended; the
 * summary is written into sweep.json here, as a local sweep writes it. `--detach` returns after
 * enqueueing (`sweep status` reads the runs' directories).
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Queue } from 'bullmq';
import { UsageError } from '../errors';
import { writeJsonAtomic } from '../runlog';
import { SWEEP_FILE, type SweepPlan } from '../sweep-plan';
import { runResultOf, summarizeGroups } from '../sweep-summary';
import { ensureWritableDir } from '../writable';
import { KEEP_ENDED_JOBS } from './enqueue';
import { type EndedRun, type FollowOptions, followRunJobs } from './follow';
import { RUN_JOB_ATTEMPTS, RUN_JOB_BACKOFF, RUNS_QUEUE, type RunJobData } from './job-data';
import { bullConnection, type RedisTarget } from './redis-url';

/** Where a queued sweep's jobs are: stored in sweep.json (`queue`), without any password. */
export interface QueuedSweep {
  server: string;
  prefix: string;
  runJobs: Record<string, string>;
}

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
  const ended = await followRunJobs(target, queued.prefix, queued.runJobs, options);
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
