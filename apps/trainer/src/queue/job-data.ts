/** What travels through the queue: the queues' names, a run job's data and its result. */
import type { TrainSettings } from '../config';
import { UsageError } from '../errors';
import type { RunResult } from '../run';

/** Queue of the runs (workers take from it) and of the comparisons (a parent job per comparison). */
export const RUNS_QUEUE = 'bmp-runs';
export const COMPARES_QUEUE = 'bmp-compares';
/** BullMQ's key prefix (default); `--queue-name` replaces it to keep several setups apart on one server. */
export const DEFAULT_PREFIX = 'bmp';

export interface RunJobData {
  /** The run directory relative to the worker's --log-dir: `<compare>/<run>`. */
  runPath: string;
  /** The planned run's full settings (compare.json's); logDir and runName follow from runPath. */
  settings: TrainSettings;
  compareId: string;
}

export interface CompareJobData {
  /** The comparison directory relative to --log-dir. */
  comparePath: string;
  compareId: string;
  /** Run name -> its job id in the runs queue. */
  runJobs: Record<string, string>;
}

/** What a run job returns: enough for the coordinator's table (it reads the rest from the run dir). */
export interface RunJobResult {
  runPath: string;
  status: RunResult['status'];
  message?: string;
  epochs: number;
  finalTestError: number | null;
  bestTestError: number | null;
}

export interface RunJobProgress {
  epoch: number;
  epochs: number;
  batch: number;
  numBatches: number | null;
  loss: number | null;
  /** The worker (host/pid) that trains it. */
  worker: string;
}

/** The attempts of a run job: errors that may pass (a crashed process, a full disk) are retried. */
export const RUN_JOB_ATTEMPTS = 3;
export const RUN_JOB_BACKOFF = { type: 'exponential', delay: 2000 } as const;

/** A run path is `<compare>/<run>`: two plain names, nothing that climbs out of --log-dir. */
export function checkRunPath(runPath: string): string[] {
  const parts = runPath.split('/');
  if (parts.length !== 2 || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\')))
    throw new UsageError(`job runPath '${runPath}': expected <compare>/<run>`);
  return parts;
}
