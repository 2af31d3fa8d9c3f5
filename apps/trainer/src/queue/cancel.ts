/**
 * Cancelling queued runs (`sweep cancel` of a sweep enqueued with --queue): a waiting job is removed from
 * the queue; a running one is told to stop through a key in Redis that its worker polls. The worker then
 * checkpoints the run, as on SIGTERM, and fails the job for good with CANCELLED (no retry), so the run
 * directory keeps everything trained and `sweep --resume` can continue it.
 */
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RUNS_QUEUE, type RunJobData, type RunJobResult } from './job-data';
import { bullConnection, type RedisTarget } from './redis-url';

/** The reason of a run job stopped by a cancel. */
export const CANCELLED = 'cancelled (bmp-train sweep cancel)';

/** Stop requests last a week, as ended jobs do. */
const CANCEL_TTL_SECONDS = 7 * 24 * 3600;

/** The key that tells a running job's worker to stop: beside the queue's own keys. */
export function cancelKey(prefix: string, jobId: string): string {
  return `${prefix}:${RUNS_QUEUE}:cancel:${jobId}`;
}

export interface CancelOutcome {
  /** Waiting (or delayed) jobs taken off the queue: their runs did not start, or were given back. */
  removed: string[];
  /** Running jobs that were told to stop and did (checkpointed). */
  stopped: string[];
  /** Jobs that had already ended (or are gone from Redis). */
  ended: string[];
  /** Running jobs still not ended after the wait. */
  stillRunning: string[];
}

/**
 * Cancels run jobs (run name -> job id): removes those that wait, asks the running ones to stop, and waits
 * (up to `waitMs`) for them to checkpoint and end.
 */
export async function cancelRunJobs(
  target: RedisTarget,
  prefix: string,
  runJobs: Record<string, string>,
  waitMs = 120_000,
): Promise<CancelOutcome> {
  const queue = new Queue<RunJobData, RunJobResult>(RUNS_QUEUE, {
    connection: bullConnection(target),
    prefix,
  });
  const client = new Redis(target.options);
  const out: CancelOutcome = { removed: [], stopped: [], ended: [], stillRunning: [] };
  try {
    const running: Array<[string, string]> = [];
    for (const [run, id] of Object.entries(runJobs)) {
      // set first: a job taken by a worker between the state read and the removal stops at its start
      await client.set(cancelKey(prefix, id), '1', 'EX', CANCEL_TTL_SECONDS);
      const job = await queue.getJob(id);
      const state = job ? await job.getState() : 'unknown';
      if (!job || state === 'completed' || state === 'failed' || state === 'unknown') out.ended.push(run);
      else if (state !== 'active' && (await removed(job))) out.removed.push(run);
      else running.push([run, id]);
    }
    const until = Date.now() + waitMs;
    for (const [run, id] of running) {
      for (;;) {
        const job = await queue.getJob(id);
        const state = job ? await job.getState() : 'unknown';
        if (state === 'completed' || state === 'failed' || state === 'unknown') {
          out.stopped.push(run);
          break;
        }
        if (Date.now() > until) {
          out.stillRunning.push(run);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    return out;
  } finally {
    client.disconnect();
    await queue.close();
  }
}

/** Removes a job that is not locked by a worker; false when a worker holds it (it is running). */
async function removed(job: Job): Promise<boolean> {
  try {
    await job.remove();
    return true;
  } catch {
    return false;
  }
}

/**
 * The worker's side: every `everyMs`, whether a job's stop was asked for. One request at a time, so a
 * slow or unreachable Redis never piles up requests (the run trains on meanwhile).
 */
export function watchCancel(
  client: Redis,
  prefix: string,
  jobId: string,
  onCancel: () => void,
  everyMs = 1000,
): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    client
      .exists(cancelKey(prefix, jobId))
      .then((n) => {
        if (n === 1) {
          clearInterval(timer);
          onCancel();
        }
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
