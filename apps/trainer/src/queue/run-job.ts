/**
 * One run job, as a worker processes it: the run directory's lease, then the run started (no config.json
 * yet) or resumed (from its newest checkpoint, bit for bit), its progress reported to the job, and its
 * result returned. Errors that would recur (bad flags, data, a broken run directory) fail the job for
 * good; others (a full disk, a crash) are retried by BullMQ with the job's attempts and backoff.
 */
import { existsSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DelayedError, type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Redis } from 'ioredis';
import { overridableSettings, runState } from '../compare-resume';
import { readRunResult } from '../compare-summary';
import { describeError } from '../errors';
import type { ProgressEvent, Reporter } from '../progress';
import type { RunResult } from '../run';
import { train } from '../train';
import { CANCELLED, cancelKey, watchCancel } from './cancel';
import { checkRunPath, type RunJobData, type RunJobProgress, type RunJobResult } from './job-data';
import { acquireLease, keepRenewed } from './lease';

export interface RunJobContext {
  /** The worker's --log-dir (the same shared directory as the coordinator's). */
  logDir: string;
  /** Lifetime of the run directory's lease without renewal. */
  leaseMs: number;
  /** Aborted when the worker is told to stop (SIGTERM/SIGINT): the run checkpoints and the job goes back. */
  stop: AbortSignal;
  /** The worker's own progress lines. */
  reporter: Reporter;
  /** The lease was taken over: this process must stop writing at once. */
  onLeaseLost: (runDir: string) => void;
  /** Seconds between progress updates of a job (default 1). */
  progressSeconds?: number;
  /** Where stop requests of `sweep cancel` are polled (the worker's own connection and key prefix). */
  cancels?: { client: Redis; prefix: string };
}

/** Categories of errors that another attempt would meet again. */
const PERMANENT = new Set(['usage', 'data', 'run']);

export const workerName = () => `${hostname()}/${process.pid}`;

export async function processRunJob(
  job: Job<RunJobData, RunJobResult>,
  token: string | undefined,
  ctx: RunJobContext,
): Promise<RunJobResult> {
  const { runPath, settings, compareId } = job.data;
  let runName: string;
  try {
    runName = checkRunPath(runPath)[1];
  } catch (e) {
    throw new UnrecoverableError((e as Error).message);
  }
  const runDir = join(ctx.logDir, runPath);
  const got = await acquireLease(runDir, String(job.id), ctx.leaseMs);
  if ('busy' in got) {
    // another writer holds the run: give the job back until its lease ends (or it is released)
    const wait = Math.min(5000, Math.max(500, got.busy.expiresAt - Date.now()));
    ctx.reporter.event({
      type: 'message',
      run: runName,
      level: 'warn',
      text: `run directory leased by ${got.busy.owner.host}/${got.busy.owner.pid} (job ${got.busy.jobId}): job given back for ${wait} ms`,
    });
    await job.moveToDelayed(Date.now() + wait, token);
    throw new DelayedError();
  }
  const { lease } = got;
  const stopRenewing = keepRenewed(lease, ctx.leaseMs, () => ctx.onLeaseLost(runDir));
  // a cancel stops the run as a signal does (checkpoint at the next step), then ends the job for good
  const cancel = new AbortController();
  const stopWatching = ctx.cancels
    ? watchCancel(ctx.cancels.client, ctx.cancels.prefix, String(job.id), () => cancel.abort('SIGINT'))
    : () => undefined;
  try {
    if (ctx.cancels && (await ctx.cancels.client.exists(cancelKey(ctx.cancels.prefix, String(job.id)))))
      throw new UnrecoverableError(CANCELLED);
    const stop = AbortSignal.any([ctx.stop, cancel.signal]);
    const result = await trainOrResume(job, runDir, runName, { ...ctx, stop }, settings, compareId);
    if (result.status === 'interrupted' && cancel.signal.aborted && !ctx.stop.aborted)
      throw new UnrecoverableError(CANCELLED);
    if (result.status === 'interrupted') {
      stopRenewing();
      await lease.release();
      await job.moveToWait(token);
      throw new WaitingError();
    }
    return {
      runPath,
      status: result.status,
      message: result.message,
      epochs: result.epochs.length,
      finalTestError: result.finalTestError,
      bestTestError: result.bestTestError,
    };
  } catch (e) {
    if (e instanceof WaitingError || e instanceof DelayedError || e instanceof UnrecoverableError) throw e;
    const d = describeError(e);
    if (PERMANENT.has(d.category))
      throw new UnrecoverableError(`exit ${d.exitCode}: ${d.message.split('\n')[0]}`);
    throw e;
  } finally {
    stopWatching();
    stopRenewing();
    await lease.release();
    // a run that failed before writing anything leaves no directory behind (as a local comparison)
    await rmdir(runDir).catch(() => undefined);
  }
}

async function trainOrResume(
  job: Job<RunJobData, RunJobResult>,
  runDir: string,
  runName: string,
  ctx: RunJobContext,
  settings: RunJobData['settings'],
  compareId: string,
): Promise<RunResult> {
  const reporter = jobReporter(job, ctx);
  try {
    if (existsSync(join(runDir, 'config.json'))) {
      const state = await runState(runDir, settings.epochs);
      if (state === 'finished' || state === 'diverged') {
        ctx.reporter.event({ type: 'message', run: runName, level: 'info', text: `${state} already` });
        return await readRunResult(runDir, state === 'finished' ? 'completed' : 'diverged');
      }
      return await train({
        resume: runDir,
        settings: overridableSettings(settings),
        reporter,
        signal: ctx.stop,
      });
    }
    return await train({
      settings: { ...settings, logDir: join(runDir, '..'), runName },
      compareId,
      reporter,
      signal: ctx.stop,
    });
  } finally {
    reporter.close();
  }
}

/** Relays a run's events to the worker's output, and its position to the job (throttled). */
function jobReporter(job: Job<RunJobData, RunJobResult>, ctx: RunJobContext): Reporter {
  const every = (ctx.progressSeconds ?? 1) * 1000;
  let last = 0;
  let pending: Promise<void> = Promise.resolve();
  const send = (p: RunJobProgress) => {
    last = Date.now();
    pending = pending.then(() => job.updateProgress(p as unknown as object)).catch(() => undefined);
  };
  return {
    event(e: ProgressEvent) {
      if (e.type === 'step') {
        if (Date.now() - last >= every)
          send({
            epoch: e.epoch,
            epochs: e.epochs,
            batch: e.batch + 1,
            numBatches: e.numBatches,
            loss: e.loss,
            worker: workerName(),
          });
        return; // steps are the job's progress, not the worker's log
      }
      if (e.type === 'epoch')
        send({
          epoch: e.record.epoch + 1,
          epochs: e.epochs,
          batch: 0,
          numBatches: null,
          loss: e.record.trainLoss,
          worker: workerName(),
        });
      ctx.reporter.event(e);
    },
    close() {},
  };
}
