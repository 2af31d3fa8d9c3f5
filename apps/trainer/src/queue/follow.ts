/**
 * Following queued runs from the coordinator: every second, the state and progress of each run job (a line
 * whenever one changes, with the runs done and an ETA), until a comparison's parent job has ended
 * (`followCompare`) or every run of a sweep has (`followRunJobs`).
 */
import { Job, Queue } from 'bullmq';
import type { CompareJobResult } from './compare-job';
import type { QueuedCompare } from './enqueue';
import { COMPARES_QUEUE, RUNS_QUEUE, type RunJobProgress, type RunJobResult } from './job-data';
import { bullConnection, type RedisTarget } from './redis-url';

export interface FollowOptions {
  write: (line: string) => void;
  signal?: AbortSignal;
  intervalMs?: number;
}

function progressText(p: RunJobProgress): string {
  const batch = p.batch > 0 ? ` batch ${p.batch}${p.numBatches ? `/${p.numBatches}` : ''}` : ' done';
  const loss = p.loss == null ? '' : ` loss ${p.loss.toFixed(4)}`;
  return `epoch ${p.epoch + (p.batch > 0 ? 1 : 0)}/${p.epochs}${batch}${loss} on ${p.worker}`;
}

/** Fraction of a run done, from its progress. */
function fractionDone(p: RunJobProgress | null): number {
  if (!p?.epochs) return 0;
  if (p.batch === 0) return p.epoch / p.epochs;
  const inEpoch = p.numBatches ? p.batch / p.numBatches : 0;
  return Math.min(1, (p.epoch + inEpoch) / p.epochs);
}

/** What the runs of a queue look like at one moment. */
interface RunsSnapshot {
  done: number;
  /** Share of the work done, 0..1. */
  share: number;
  jobs: Map<string, Job | undefined>;
}

/** Reads every run job once; writes a line for each run whose state or progress changed. */
async function pollRuns(
  runs: Queue,
  runJobs: Record<string, string>,
  last: Map<string, string>,
  write: (line: string) => void,
): Promise<RunsSnapshot> {
  let done = 0;
  let fraction = 0;
  const jobs = new Map<string, Job | undefined>();
  const names = Object.keys(runJobs);
  for (const name of names) {
    const job = await Job.fromId(runs, runJobs[name]);
    jobs.set(name, job);
    const state = job ? await job.getState() : 'unknown';
    const p = (
      job?.progress && typeof job.progress === 'object' ? job.progress : null
    ) as RunJobProgress | null;
    let text: string = state;
    if (state === 'active' && p) text = progressText(p);
    if (state === 'failed') text = `failed (attempt ${job?.attemptsMade ?? '?'}): ${job?.failedReason ?? ''}`;
    if (state === 'completed') text = `completed (${job?.returnvalue?.status ?? '?'})`;
    // A job missing from Redis will not come back (Redis restarted without its append-only file, or the
    // job expired): it counts as ended, and the run as failed.
    if (!job)
      text = `gone from Redis (job ${runJobs[name]}): was Redis restarted without its append-only file?`;
    const ended = state === 'completed' || state === 'failed' || !job;
    if (ended) done++;
    fraction += ended ? 1 : fractionDone(p);
    if (last.get(name) !== text) {
      last.set(name, text);
      write(`[${name}] ${text}`);
    }
  }
  return { done, share: names.length ? fraction / names.length : 1, jobs };
}

/** Polls the runs every `intervalMs` until `ended` says so; an ETA line every 10 s. Null when interrupted. */
async function followRuns<T>(
  runs: Queue,
  runJobs: Record<string, string>,
  options: FollowOptions,
  ended: (snapshot: RunsSnapshot) => Promise<T | undefined>,
): Promise<T | null> {
  const last = new Map<string, string>();
  const started = Date.now();
  const total = Object.keys(runJobs).length;
  let lastEta = 0;
  let downSince: number | null = null;
  for (;;) {
    if (options.signal?.aborted) return null;
    try {
      const snapshot = await pollRuns(runs, runJobs, last, options.write);
      if (downSince != null)
        options.write(`Redis is back after ${Math.round((Date.now() - downSince) / 1000)} s`);
      downSince = null;
      const elapsed = (Date.now() - started) / 1000;
      const { share } = snapshot;
      if (share > 0 && share < 1 && Date.now() - lastEta > 10_000) {
        lastEta = Date.now();
        options.write(
          `${snapshot.done}/${total} runs done, ${(100 * share).toFixed(0)}%, about ${Math.round((elapsed * (1 - share)) / share)} s left`,
        );
      }
      const result = await ended(snapshot);
      if (result !== undefined) return result;
    } catch (error) {
      // A Redis restart or a network blip: the workers go on; keep following once it answers again.
      if (!isConnectionError(error)) throw error;
      if (downSince == null) {
        downSince = Date.now();
        options.write(
          `Redis unreachable (${(error as Error).message}); still following, retrying every second`,
        );
      } else if (Date.now() - downSince > REDIS_DOWN_LIMIT_MS) throw error;
    }
    await new Promise((res) => setTimeout(res, options.intervalMs ?? 1000));
  }
}

/** How long the coordinator waits for an unreachable Redis before it gives up following. */
const REDIS_DOWN_LIMIT_MS = 10 * 60_000;

function isConnectionError(error: unknown): boolean {
  const text = `${(error as { code?: string })?.code ?? ''} ${(error as Error)?.message ?? ''}`;
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|max retries per request|Stream isn't writeable|LOADING/i.test(
    text,
  );
}

/** Waits for the comparison's parent job to end; returns its result (or null when interrupted). */
export async function followCompare(
  target: RedisTarget,
  queued: QueuedCompare,
  options: FollowOptions,
): Promise<CompareJobResult | null> {
  const runs = new Queue(RUNS_QUEUE, { connection: bullConnection(target), prefix: queued.prefix });
  const compares = new Queue(COMPARES_QUEUE, { connection: bullConnection(target), prefix: queued.prefix });
  try {
    return await followRuns(runs, queued.runJobs, options, async () => {
      const parent = await Job.fromId<unknown, CompareJobResult>(compares, queued.parentJobId);
      const ps = parent ? await parent.getState() : 'unknown';
      if (ps === 'completed') return parent!.returnvalue;
      if (ps === 'failed') throw new Error(`the comparison's summary job failed: ${parent!.failedReason}`);
      if (!parent)
        throw new Error(
          `the comparison's job ${queued.parentJobId} is gone from Redis (restarted without its append-only file?); its runs' directories keep what was trained: continue with compare --resume <dir> --queue`,
        );
      return undefined;
    });
  } finally {
    await runs.close();
    await compares.close();
  }
}

/** How a queued run ended: its job's result, or why it failed for good. */
export type EndedRun = { state: 'completed'; result: RunJobResult } | { state: 'failed'; reason: string };

/** Waits until every run job has ended (completed, or failed with no attempt left); null when interrupted. */
export async function followRunJobs(
  target: RedisTarget,
  prefix: string,
  runJobs: Record<string, string>,
  options: FollowOptions,
): Promise<Map<string, EndedRun> | null> {
  const runs = new Queue(RUNS_QUEUE, { connection: bullConnection(target), prefix });
  try {
    return await followRuns(runs, runJobs, options, async ({ done, jobs }) => {
      if (done < jobs.size) return undefined;
      const ended = new Map<string, EndedRun>();
      for (const [name, job] of jobs) {
        const state = job ? await job.getState() : 'unknown';
        ended.set(
          name,
          state === 'completed'
            ? { state, result: job!.returnvalue as RunJobResult }
            : { state: 'failed', reason: job?.failedReason ?? `job ${runJobs[name]} is gone` },
        );
      }
      return ended;
    });
  } finally {
    await runs.close();
  }
}
