/**
 * Following a queued comparison from the coordinator: every second, the state and progress of each run
 * job (a line whenever one changes, with the runs done and an ETA), until the parent job has ended.
 */
import { Job, Queue } from 'bullmq';
import type { CompareJobResult } from './compare-job';
import type { QueuedCompare } from './enqueue';
import { COMPARES_QUEUE, RUNS_QUEUE, type RunJobProgress } from './job-data';
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

/** Waits for the comparison's parent job to end; returns its result (or null when interrupted). */
export async function followCompare(
  target: RedisTarget,
  queued: QueuedCompare,
  options: FollowOptions,
): Promise<CompareJobResult | null> {
  const runs = new Queue(RUNS_QUEUE, { connection: bullConnection(target), prefix: queued.prefix });
  const compares = new Queue(COMPARES_QUEUE, { connection: bullConnection(target), prefix: queued.prefix });
  const last = new Map<string, string>();
  const started = Date.now();
  let lastEta = 0;
  try {
    for (;;) {
      if (options.signal?.aborted) return null;
      let done = 0;
      let fraction = 0;
      const names = Object.keys(queued.runJobs);
      for (const name of names) {
        const job = await Job.fromId(runs, queued.runJobs[name]);
        const state = job ? await job.getState() : 'unknown';
        const p = (
          job?.progress && typeof job.progress === 'object' ? job.progress : null
        ) as RunJobProgress | null;
        let text: string = state;
        if (state === 'active' && p) text = progressText(p);
        if (state === 'failed')
          text = `failed (attempt ${job?.attemptsMade ?? '?'}): ${job?.failedReason ?? ''}`;
        if (state === 'completed') text = `completed (${job?.returnvalue?.status ?? '?'})`;
        if (state === 'completed' || state === 'failed') done++;
        fraction += state === 'completed' || state === 'failed' ? 1 : fractionDone(p);
        if (last.get(name) !== text) {
          last.set(name, text);
          options.write(`[${name}] ${text}`);
        }
      }
      const elapsed = (Date.now() - started) / 1000;
      const share = fraction / names.length;
      if (share > 0 && share < 1 && Date.now() - lastEta > 10_000) {
        lastEta = Date.now();
        options.write(
          `${done}/${names.length} runs done, ${(100 * share).toFixed(0)}%, about ${Math.round((elapsed * (1 - share)) / share)} s left`,
        );
      }
      const parent = await Job.fromId<unknown, CompareJobResult>(compares, queued.parentJobId);
      const ps = parent ? await parent.getState() : 'unknown';
      if (ps === 'completed') return parent!.returnvalue;
      if (ps === 'failed') throw new Error(`the comparison's summary job failed: ${parent!.failedReason}`);
      await new Promise((res) => setTimeout(res, options.intervalMs ?? 1000));
    }
  } finally {
    await runs.close();
    await compares.close();
  }
}
