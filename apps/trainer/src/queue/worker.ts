/**
 * `bmp-train worker`: BullMQ workers on the runs queue (`concurrency` runs at once, in this process) and
 * on the comparisons queue (summaries). A worker that dies loses nothing: its run's lock expires, another
 * worker's stalled check puts the job back, and the next worker resumes the run from its checkpoint.
 * SIGTERM/SIGINT: the runs checkpoint at their next batch, their jobs go back to the queue, the worker
 * closes and the process exits 143/130.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { EXIT } from '../errors';
import type { Interrupts } from '../interrupts';
import type { Reporter } from '../progress';
import { type CompareJobResult, processCompareJob } from './compare-job';
import {
  COMPARES_QUEUE,
  type CompareJobData,
  RUNS_QUEUE,
  type RunJobData,
  type RunJobResult,
} from './job-data';
import { bullConnection, type RedisTarget } from './redis-url';
import { processRunJob, workerName } from './run-job';

export interface WorkerOptions {
  target: RedisTarget;
  prefix: string;
  logDir: string;
  concurrency: number;
  /** BullMQ's lock duration and stalled-check interval, and the run directory lease's lifetime. */
  lockSeconds: number;
  reporter: Reporter;
  stop: Interrupts;
}

/** Runs the workers until a signal; resolves with the process's exit code. */
export async function runWorker(o: WorkerOptions): Promise<number> {
  const lockMs = Math.round(o.lockSeconds * 1000);
  const common = {
    connection: bullConnection(o.target),
    prefix: o.prefix,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 5,
    // a closing worker waits for its blocking fetch: keep that short
    drainDelay: 1,
  };
  const say = (text: string, level: 'info' | 'warn' | 'error' = 'info') =>
    o.reporter.event({ type: 'message', level, text });
  // polls the stop requests of `sweep cancel` for the jobs being trained
  const cancelClient = new Redis(o.target.options);
  cancelClient.on('error', () => undefined); // the workers report an unreachable Redis
  const runs = new Worker<RunJobData, RunJobResult>(
    RUNS_QUEUE,
    (job, token) =>
      processRunJob(job, token, {
        logDir: o.logDir,
        leaseMs: lockMs,
        stop: o.stop.signal,
        reporter: o.reporter,
        cancels: { client: cancelClient, prefix: o.prefix },
        onLeaseLost: (dir) => {
          // another worker owns the run now: stop writing at once (its job was redelivered)
          say(`lost the lease of ${dir} to another worker: quitting without writing`, 'error');
          process.exit(EXIT.run);
        },
      }),
    { ...common, concurrency: o.concurrency },
  );
  const runsQueue = new Queue(RUNS_QUEUE, { connection: bullConnection(o.target), prefix: o.prefix });
  const compares = new Worker<CompareJobData, CompareJobResult>(
    COMPARES_QUEUE,
    (job) => processCompareJob(job, o.logDir, runsQueue),
    { ...common, concurrency: 1 },
  );
  runs.on('active', (job) =>
    say(`[${job.data.runPath}] job ${job.id} taken (attempt ${job.attemptsStarted})`),
  );
  runs.on('completed', (job, r) => say(`[${job.data.runPath}] job ${job.id} done: ${r.status}`));
  runs.on('failed', (job, err) =>
    say(`[${job?.data.runPath ?? '?'}] job ${job?.id ?? '?'} failed: ${err.message}`, 'warn'),
  );
  runs.on('error', (err) => say(`queue: ${err.message}`, 'warn'));
  compares.on('error', (err) => say(`queue: ${err.message}`, 'warn'));
  compares.on('completed', (job, r) => say(`comparison ${job.data.compareId}: ${r.status} (${r.dir})`));
  say(
    `worker ${workerName()} on ${o.target.display} (prefix ${o.prefix}), log dir ${o.logDir}, concurrency ${o.concurrency}`,
  );
  await new Promise<void>((res) => {
    if (o.stop.signal.aborted) res();
    o.stop.signal.addEventListener('abort', () => res(), { once: true });
  });
  say('stopping: running jobs checkpoint and go back to the queue');
  // close() waits for the running jobs: they see the signal, checkpoint, and give their jobs back
  await runs.close();
  await compares.close();
  await runsQueue.close();
  cancelClient.disconnect();
  return o.stop.exitCode() ?? EXIT.ok;
}
