/**
 * `compare --queue`: the comparison planned as a local one (same run names, same compare.json), then
 * enqueued as a BullMQ flow: a parent job `compare` in bmp-compares waiting on one job per run in
 * bmp-runs. Job data carry paths relative to --log-dir, which workers and coordinator share.
 */
import { randomUUID } from 'node:crypto';
import { basename, join } from 'node:path';
import { FlowProducer } from 'bullmq';
import { type CompareOptions, type ComparePlan, type PlannedRun, planCompare } from '../compare-plan';
import { writeJsonAtomic } from '../runlog';
import { ensureWritableDir } from '../writable';
import {
  COMPARES_QUEUE,
  type CompareJobData,
  RUN_JOB_ATTEMPTS,
  RUN_JOB_BACKOFF,
  RUNS_QUEUE,
  type RunJobData,
} from './job-data';
import { bullConnection, type RedisTarget } from './redis-url';

/** Where a queued comparison's jobs are: stored in compare.json (`queue`), without any password. */
export interface QueuedCompare {
  server: string;
  prefix: string;
  parentJobId: string;
  runJobs: Record<string, string>;
}

/** Ended jobs stay in Redis for a week (to be followed and inspected), then go. */
export const KEEP_ENDED_JOBS = {
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export async function enqueueCompare(
  options: CompareOptions,
  target: RedisTarget,
  prefix: string,
): Promise<{ plan: ComparePlan; queue: QueuedCompare }> {
  return enqueuePlan(planCompare(options), target, prefix);
}

/**
 * Enqueues a planned (or stored, `compare --resume`) comparison: one job per run of `todo` (default:
 * every run); runs left out are read back from their directories by the summary.
 */
export async function enqueuePlan(
  plan: ComparePlan,
  target: RedisTarget,
  prefix: string,
  todo: PlannedRun[] = plan.runs,
): Promise<{ plan: ComparePlan; queue: QueuedCompare }> {
  const comparePath = basename(plan.dir);
  const tag = randomUUID().slice(0, 8);
  const runJobs: Record<string, string> = {};
  for (const r of todo) runJobs[r.runName] = `${plan.compareId}.${r.runName}.${tag}`;
  const queue: QueuedCompare = {
    server: target.display,
    prefix,
    parentJobId: `${plan.compareId}.${tag}`,
    runJobs,
  };
  await ensureWritableDir(plan.dir, '--log-dir');
  await writeJsonAtomic(join(plan.dir, 'compare.json'), { ...plan, status: 'queued', queue });
  const flows = new FlowProducer({ connection: bullConnection(target), prefix });
  try {
    const data: CompareJobData = { comparePath, compareId: plan.compareId, runJobs };
    await flows.add({
      name: 'compare',
      queueName: COMPARES_QUEUE,
      data,
      opts: { jobId: queue.parentJobId, ...KEEP_ENDED_JOBS },
      children: todo.map((r) => ({
        name: 'run',
        queueName: RUNS_QUEUE,
        data: {
          runPath: `${comparePath}/${r.runName}`,
          settings: r.settings,
          compareId: plan.compareId,
        } satisfies RunJobData,
        opts: {
          jobId: runJobs[r.runName],
          attempts: RUN_JOB_ATTEMPTS,
          backoff: RUN_JOB_BACKOFF,
          // a run that fails for good ends its dependency: the comparison reports it
          ignoreDependencyOnFailure: true,
          ...KEEP_ENDED_JOBS,
        },
      })),
    });
  } finally {
    await flows.close();
  }
  return { plan, queue };
}
