/** config.json of a run: written once when the run starts, amended (settings, schedule, resumes) on resume. */
import type { TrainSettings } from './config';
import { RunDirError, UsageError } from './errors';
import { stripModelPrefix, type TrainableModel } from './model';
import {
  CONFIG_SCHEMA_VERSION,
  type ComputeDevice,
  type RunConfig,
  readRunConfig,
  writeRunConfig,
} from './runlog';
import { type Replan, scheduleConfig } from './schedule';

export interface NewRunInfo {
  runName: string;
  compareId: string | null;
  backend: string;
  numClasses: number;
  /** Recorded as is (dataset description, backend reason, versions, command...). */
  meta: Record<string, unknown>;
  /** Images per epoch left out of training (ImageSourceOptions.dropSingleLast in data.ts). */
  droppedPerEpoch: number;
}

export async function writeNewRunConfig(
  file: string,
  s: TrainSettings,
  model: TrainableModel,
  info: NewRunInfo,
  initWeightsHash: string,
): Promise<void> {
  const user = info.meta.modelId === 'user';
  const data = (info.meta.data ?? {}) as {
    description?: string;
    train?: number;
    val?: number;
    test?: number;
    shape?: number[];
  };
  await writeRunConfig(file, {
    kind: 'bmp-train-run',
    schemaVersion: CONFIG_SCHEMA_VERSION,
    runName: info.runName,
    compareId: info.compareId,
    createdAt: new Date().toISOString(),
    optimizer: s.optimizer,
    seed: s.seed,
    backend: info.backend,
    versions: (info.meta.versions ?? {}) as Record<string, string>,
    model: {
      name: user ? model.name : s.model,
      ...(user ? {} : { width: s.width, init: s.init }),
      ...(s.model === 'mlp' && !user ? { layers: s.mlpLayers } : {}),
      parameters: model.trainableVariables.reduce((t, v) => t + v.size, 0),
      blocks: model.blocks.map((b) => stripModelPrefix(b.weight.name, model.name)),
    },
    dataset: {
      name: user && typeof info.meta.data === 'string' ? 'user' : s.dataset,
      ...(data.shape ? { imageShape: data.shape } : {}),
      numClasses: info.numClasses,
      ...(data.train !== undefined
        ? { trainSize: data.train, valSize: data.val ?? 0, testSize: data.test ?? 0 }
        : {}),
      source: data.description ?? null,
      ...(info.droppedPerEpoch > 0
        ? {
            droppedPerEpoch: info.droppedPerEpoch,
            dropReason: `the last batch of each epoch would hold ${info.droppedPerEpoch} image, which batch norm cannot normalise: it is left out (a different image each epoch)`,
          }
        : {}),
    },
    schedule: scheduleConfig(s),
    augmentations: [...s.augment],
    settings: { ...s },
    initWeightsHash,
    ...info.meta,
  });
}

/** The stored config.json of a run (validated), with the hash of its initial weights. */
export async function readStoredConfig(file: string): Promise<RunConfig & { initWeightsHash: string }> {
  const cfg = await readRunConfig(file);
  if (typeof cfg.initWeightsHash !== 'string')
    throw new RunDirError(`${file}: no initWeightsHash (not written by bmp-train?)`);
  return cfg as RunConfig & { initWeightsHash: string };
}

/**
 * `--epochs` on resume must leave something to train: more than the epochs already finished, and at
 * least the epoch in progress.
 */
export function checkResumeEpochs(
  runDir: string,
  epochs: number,
  at: { epoch: number; batch: number },
): void {
  if (epochs > at.epoch) return;
  const inProgress = at.batch > 0;
  if (!inProgress && epochs === at.epoch)
    throw new UsageError(
      `--resume ${runDir}: the run has finished its ${epochs} epoch(s); pass a larger --epochs to train it further`,
    );
  throw new UsageError(
    `--epochs ${epochs}: the run in ${runDir} has already trained ${at.epoch} epoch(s)${inProgress ? ` and is in epoch ${at.epoch + 1}` : ''}; ` +
      `--epochs must be at least ${at.epoch + 1}`,
  );
}

/** Amends config.json for a resume: the settings in force, the schedule in force, and a resume entry. */
export async function recordResume(
  file: string,
  stored: RunConfig,
  s: TrainSettings,
  entry: { from: string | null; backend: string; device?: ComputeDevice; replan: Replan | null },
): Promise<void> {
  await writeRunConfig(file, {
    ...stored,
    settings: { ...s },
    schedule: entry.replan ? scheduleConfig(s, entry.replan) : stored.schedule,
    resumes: [
      ...(stored.resumes ?? []),
      {
        at: new Date().toISOString(),
        ...(entry.from ? { from: entry.from } : { fromStart: true }),
        backend: entry.backend,
        ...(entry.device ? { device: entry.device } : {}),
        epochs: s.epochs,
        ...(entry.replan ? { schedule: scheduleConfig(s, entry.replan) } : {}),
      },
    ],
  });
}
