/** What a training run takes and what it returns. */
import type { FaultHook } from './checkpoint';
import type { TrainSettings } from './config';
import type { BatchSource } from './data';
import type { TrainableModel } from './model';
import type { Reporter } from './progress';
import type { EpochRecord } from './runlog';

export interface RunInputs {
  settings: TrainSettings;
  model: TrainableModel;
  train: BatchSource;
  val: BatchSource | null;
  test: BatchSource;
  numClasses: number;
  runDir: string;
  runName: string;
  compareId: string | null;
  /** Recorded in config.json (dataset description, backend, versions, command...). */
  meta: Record<string, unknown>;
  resume: boolean;
  reporter: Reporter;
  backend: string;
  signal?: AbortSignal;
  /** Tests: simulate a crash while a checkpoint is written. */
  checkpointFault?: FaultHook;
}

export interface RunResult {
  runName: string;
  runDir: string;
  optimizer: string;
  lr: number;
  seed: number;
  compareId: string | null;
  status: 'completed' | 'interrupted' | 'diverged';
  message?: string;
  initWeightsHash: string;
  epochs: EpochRecord[];
  finalTestError: number | null;
  bestTestError: number | null;
  secondsPerEpoch: number | null;
}
