/** `train()`: one run, from settings or with the user's own model and data. */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ImageDataset } from '@bmp/datasets';
import type { Network } from '@bmp/models';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { FaultHook } from './checkpoint';
import {
  RESUME_OVERRIDABLE,
  resolveSettings,
  type TrainSettings,
  UsageError,
  validateSettings,
} from './config';
import {
  type BatchSource,
  imageDatasetSource,
  iteratorSource,
  loadData,
  normalizationOf,
  tensorSource,
} from './data';
import { callerDevice, environmentInfo, setupBackend, versions } from './environment';
import { asTrainable, buildModel, type TrainableModel } from './model';
import { callbackReporter, type ProgressEvent, type Reporter } from './progress';
import { type RunResult, runTraining } from './run';
import { readStoredConfig } from './run-config';
import { tf } from './tf';

/** Data for one input of the library API. */
export type DataInput =
  | ImageDataset
  | { xs: tf.Tensor; ys: tf.Tensor }
  | ((
      epoch: number,
    ) => AsyncIterable<{ xs: tf.Tensor; ys: tf.Tensor }> | Iterable<{ xs: tf.Tensor; ys: tf.Tensor }>);

export interface UserData {
  train: DataInput;
  /** Required: the comparison is about test error. */
  test: DataInput;
  val?: DataInput;
  numClasses: number;
}

export type ModelInput = TrainableModel | tfl.LayersModel | Network;

export interface TrainOptions {
  /** Any settings (defaults: DEFAULTS; `preset` under them). */
  settings?: Partial<TrainSettings>;
  preset?: string;
  /** Your model (default: built from settings.model/width). */
  model?: ModelInput;
  /** Your data (default: loaded from settings.dataset). */
  data?: UserData;
  /** Continue the run stored in this directory. */
  resume?: string;
  onProgress?: (e: ProgressEvent) => void;
  reporter?: Reporter;
  /** Aborting saves a checkpoint at the next step and returns with status 'interrupted'. */
  signal?: AbortSignal;
  compareId?: string | null;
  /** Skip backend selection (you have already set one up). */
  skipBackendSetup?: boolean;
  /** Tests only. */
  checkpointFault?: FaultHook;
}

export function baseDirectory(): string {
  return process.env.INIT_CWD ?? process.cwd();
}

export function resolveLogDir(logDir: string): string {
  return isAbsolute(logDir) ? logDir : resolve(baseDirectory(), logDir);
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function defaultRunName(s: TrainSettings): string {
  return `${s.model}-${s.dataset}-${s.optimizer}-${timestamp()}`;
}

function toSource(
  input: DataInput,
  batchSize: number,
  seed: number,
  shuffle: boolean,
  normalize?: { mean: number[]; std: number[] },
  augment?: TrainSettings['augment'],
  s?: TrainSettings,
): BatchSource {
  if (typeof input === 'function') return iteratorSource(input);
  if ('images' in input) {
    return imageDatasetSource(input, {
      batchSize,
      seed,
      shuffle,
      normalize,
      augment: augmentOptions(augment ?? [], s),
      dropSingleLast: shuffle,
    });
  }
  return tensorSource(input.xs, input.ys, { batchSize, seed, shuffle });
}

export function augmentOptions(augment: TrainSettings['augment'], s?: TrainSettings) {
  if (augment.length === 0) return undefined;
  return {
    flip: augment.includes('flip') || undefined,
    maxRotation: augment.includes('rotate') ? (s?.rotationDegrees ?? 15) : undefined,
    cropPadding: augment.includes('crop') ? (s?.cropPadding ?? 4) : undefined,
  };
}

/** Settings of a stored run, with the allowed overrides applied (others must be unchanged). */
export async function resumeSettings(
  runDir: string,
  explicit: Partial<TrainSettings>,
): Promise<{ settings: TrainSettings; runName: string; compareId: string | null }> {
  const file = join(runDir, 'config.json');
  if (!existsSync(file))
    throw new UsageError(`--resume ${runDir}: no config.json there (not a run directory)`);
  const cfg = await readStoredConfig(file);
  const settings = { ...(cfg.settings as unknown as TrainSettings) };
  for (const [k, v] of Object.entries(explicit) as Array<[keyof TrainSettings, unknown]>) {
    if (v === undefined) continue;
    if (JSON.stringify(v) === JSON.stringify(settings[k])) continue;
    if (!RESUME_OVERRIDABLE.has(k)) {
      throw new UsageError(
        `--resume: cannot change '${k}' of a stored run (stored ${JSON.stringify(settings[k])}, given ${JSON.stringify(v)}); changeable: ${[...RESUME_OVERRIDABLE].join(', ')}`,
      );
    }
    (settings as unknown as Record<string, unknown>)[k] = v;
  }
  return { settings: validateSettings(settings), runName: cfg.runName, compareId: cfg.compareId };
}

/** Everything a run needs: the backend, the model, the batch sources and what config.json records. */
export interface PreparedRun {
  backend: string;
  backendReason: string;
  model: TrainableModel;
  train: BatchSource;
  val: BatchSource | null;
  test: BatchSource;
  numClasses: number;
  meta: Record<string, unknown>;
  /** Built here (from settings): the caller disposes it. */
  ownsModel: boolean;
}

type PreparedData = Omit<PreparedRun, 'backend' | 'backendReason' | 'meta'> & { data: unknown };

/** Everything a run needs, prepared from settings (or the user's model/data). */
export async function prepareRun(
  settings: TrainSettings,
  options: { model?: ModelInput; data?: UserData; skipBackendSetup?: boolean },
): Promise<PreparedRun> {
  const { backend, reason, device } = options.skipBackendSetup
    ? { backend: tf.getBackend(), reason: 'set up by the caller', device: callerDevice(tf.getBackend()) }
    : await setupBackend(settings.backend);
  const { data, ...prepared } = options.data
    ? userDataRun(settings, options.data, options.model)
    : await settingsDataRun(settings, options.model);
  const meta: Record<string, unknown> = {
    backendReason: reason,
    device,
    environment: environmentInfo(),
    versions: versions(),
    modelId: options.model ? 'user' : settings.model,
    data,
  };
  return { backend, backendReason: reason, meta, ...prepared };
}

function userDataRun(settings: TrainSettings, d: UserData, userModel: ModelInput | undefined): PreparedData {
  if (!userModel) throw new UsageError('train(): with your own data, pass your own model too');
  if (d.test == null)
    throw new UsageError(
      'train(): data.test is required: every epoch record has the test loss and error (the comparison is about test error)',
    );
  return {
    model: asTrainable(userModel),
    train: toSource(d.train, settings.batchSize, settings.seed, true, undefined, settings.augment, settings),
    val: d.val ? toSource(d.val, settings.evalBatchSize, 0, false) : null,
    test: toSource(d.test, settings.evalBatchSize, 0, false),
    numClasses: d.numClasses,
    data: 'user data',
    ownsModel: false,
  };
}

async function settingsDataRun(
  settings: TrainSettings,
  userModel: ModelInput | undefined,
): Promise<PreparedData> {
  if (!userModel && settings.batchSize < 2)
    throw new UsageError(
      `--batch-size ${settings.batchSize}: the ${settings.model} has batch norm, which needs at least 2 images per batch`,
    );
  const data = await loadData(settings);
  const normalize = normalizationOf(data.train);
  const numClasses = data.train.classNames.length;
  const evalSource = (ds: typeof data.train) =>
    imageDatasetSource(ds, { batchSize: settings.evalBatchSize, seed: 0, shuffle: false, normalize });
  return {
    model: userModel ? asTrainable(userModel) : buildModel(settings, data.train.shape, numClasses),
    train: imageDatasetSource(data.train, {
      batchSize: settings.batchSize,
      seed: settings.seed,
      shuffle: true,
      normalize,
      augment: augmentOptions(settings.augment, settings),
      dropSingleLast: true,
    }),
    val: data.val ? evalSource(data.val) : null,
    test: evalSource(data.test),
    numClasses,
    data: {
      description: data.description,
      train: data.train.count,
      val: data.val?.count ?? 0,
      test: data.test?.count ?? 0,
      shape: data.train.shape,
      classNames: data.train.classNames,
      normalize,
    },
    ownsModel: !userModel,
  };
}

/** One training run. Returns its result (epoch records, final and best test error, status). */
export async function train(options: TrainOptions = {}): Promise<RunResult> {
  let settings: TrainSettings;
  let runName: string;
  let runDir: string;
  let compareId = options.compareId ?? null;
  if (options.resume) {
    if (options.preset)
      throw new UsageError(
        `--preset ${options.preset} with --resume: a resumed run keeps the settings stored in its config.json; leave --preset out`,
      );
    const r = await resumeSettings(options.resume, options.settings ?? {});
    settings = r.settings;
    runName = r.runName;
    compareId = r.compareId;
    runDir = resolve(options.resume);
  } else {
    settings = resolveSettings(options.settings ?? {}, options.preset);
    runName = settings.runName ?? defaultRunName(settings);
    settings.runName = runName;
    settings.logDir = resolveLogDir(settings.logDir);
    runDir = join(settings.logDir, runName);
  }
  const prepared = await prepareRun(settings, options);
  const reporter = options.reporter ?? callbackReporter(options.onProgress);
  try {
    return await runTraining({
      settings,
      model: prepared.model,
      train: prepared.train,
      val: prepared.val,
      test: prepared.test,
      numClasses: prepared.numClasses,
      runDir,
      runName,
      compareId,
      meta: { ...prepared.meta },
      resume: options.resume != null,
      reporter,
      backend: prepared.backend,
      signal: options.signal,
      checkpointFault: options.checkpointFault,
    });
  } finally {
    if (prepared.ownsModel) prepared.model.dispose?.();
  }
}
