/** Run settings: defaults, presets, validation and resolution. One place for every knob. */
import { UsageError } from './errors';

export { UsageError };

export const MODELS = ['vgg11', 'vgg13', 'vgg16', 'vgg19', 'mlp'] as const;
export const DATASETS = [
  'fashion-mnist-subset',
  'fashion-mnist',
  'mnist',
  'cifar10',
  'cifar100',
  'synthetic',
  'folder',
] as const;
export const OPTIMIZERS = ['sgd', 'scale-amended'] as const;
export const SCHEDULES = ['none', 'plateau', 'step', 'cosine'] as const;
export const AUGMENTS = ['flip', 'rotate', 'crop'] as const;
export const BACKEND_CHOICES = ['auto', 'webgpu', 'wasm', 'cpu', 'node', 'node-gpu'] as const;
export const INITS = ['he', 'orthogonal', 'gaussian'] as const;

export type ModelId = (typeof MODELS)[number];
export type DatasetId = (typeof DATASETS)[number];
export type OptimizerId = (typeof OPTIMIZERS)[number];
export type ScheduleId = (typeof SCHEDULES)[number];
export type AugmentId = (typeof AUGMENTS)[number];
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type InitId = (typeof INITS)[number];

/** Every setting of one training run (what config.json stores under `settings`). */
export interface TrainSettings {
  model: ModelId;
  /** VGG: channel multiplier; MLP: hidden units per layer. */
  width: number;
  /** MLP hidden layers. */
  mlpLayers: number;
  init: InitId;
  dataset: DatasetId;
  dataDir: string | null;
  download: boolean;
  /** synthetic: training images (test gets a fifth), image shape, classes. */
  syntheticCount: number;
  imageShape: [number, number, number];
  numClasses: number;
  /** folder: fraction held out as the test set when the folder has no train/ and test/ subfolders. */
  folderTestFraction: number;
  optimizer: OptimizerId;
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  positionScaling: boolean;
  epochs: number;
  batchSize: number;
  seed: number;
  /** Seeds the validation hold-out and --max-train-samples subset (kept equal across --seeds). */
  dataSeed: number;
  schedule: ScheduleId;
  plateauFactor: number;
  plateauPatience: number;
  stepSize: number;
  stepGamma: number;
  /** cosine: half period in epochs; null = the number of epochs. */
  cosineTMax: number | null;
  cosineEtaMin: number;
  augment: AugmentId[];
  rotationDegrees: number;
  cropPadding: number;
  maxTrainSamples: number | null;
  maxTestSamples: number | null;
  valSplit: number;
  backend: BackendChoice;
  logDir: string;
  runName: string | null;
  checkpointEvery: number;
  keepCheckpoints: number;
  logEverySteps: number;
  evalBatchSize: number;
}

/** Hidden units of `--model mlp` when --width is not given (--width's default is a VGG multiplier). */
export const MLP_DEFAULT_WIDTH = 256;

export const DEFAULTS: TrainSettings = {
  model: 'vgg11',
  width: 0.125,
  mlpLayers: 2,
  init: 'he',
  dataset: 'fashion-mnist-subset',
  dataDir: null,
  download: false,
  syntheticCount: 1000,
  imageShape: [32, 32, 3],
  numClasses: 10,
  folderTestFraction: 0.2,
  optimizer: 'scale-amended',
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  nesterov: false,
  positionScaling: true,
  epochs: 3,
  batchSize: 64,
  seed: 0,
  dataSeed: 0,
  schedule: 'cosine',
  plateauFactor: 0.5,
  plateauPatience: 10,
  stepSize: 30,
  stepGamma: 0.1,
  cosineTMax: null,
  cosineEtaMin: 0,
  augment: [],
  rotationDegrees: 15,
  cropPadding: 4,
  maxTrainSamples: null,
  maxTestSamples: null,
  valSplit: 0,
  backend: 'auto',
  logDir: 'runs',
  runName: null,
  checkpointEvery: 1,
  keepCheckpoints: 2,
  logEverySteps: 20,
  evalBatchSize: 500,
};

export interface Preset {
  description: string;
  settings: Partial<TrainSettings>;
  /** Learning rate per optimizer (compare uses both; train uses the one of --optimizer). */
  lr: Record<OptimizerId, number>;
  /** Values the paper does not give, chosen here: shown by `--help` and in the README. */
  assumed: Record<string, string>;
}

const PAPER_COMMON: Partial<TrainSettings> = {
  model: 'vgg13',
  width: 1,
  momentum: 0.9,
  weightDecay: 0.005,
  schedule: 'plateau',
  plateauFactor: 0.5,
  plateauPatience: 10,
  augment: ['flip', 'rotate'],
  epochs: 300,
  batchSize: 128,
  rotationDegrees: 15,
  valSplit: 5000,
  init: 'he',
};

const PAPER_ASSUMED = {
  batchSize: '128 (not in the paper)',
  rotationDegrees: 'rotations uniform in [-15, 15] degrees (the paper says "random rotations")',
  init: "He normal, std sqrt(2 / fan_in) (the paper does not say; PyTorch's default differs)",
  valSplit: '5,000 training images held out for ReduceLROnPlateau (the paper does not say)',
  normalisation: 'per-channel mean/std of the training images (not stated in the paper)',
};

export const PRESETS: Record<string, Preset> = {
  'paper-cifar10': {
    description: 'Figure 1, CIFAR-10: VGG13, lr 0.1 (SGD) / 0.005 (scale-amended), 300 epochs',
    settings: { ...PAPER_COMMON, dataset: 'cifar10', numClasses: 10 },
    lr: { sgd: 0.1, 'scale-amended': 0.005 },
    assumed: PAPER_ASSUMED,
  },
  'paper-cifar100': {
    description: 'Figure 1, CIFAR-100: VGG13, lr 0.1 for both optimizers, 300 epochs',
    settings: { ...PAPER_COMMON, dataset: 'cifar100', numClasses: 100 },
    lr: { sgd: 0.1, 'scale-amended': 0.1 },
    assumed: PAPER_ASSUMED,
  },
};

/**
 * Default learning rates (the main job, `bmp-train compare` with no arguments: see the README). Scale-amended
 * SGD at 0.1 diverged on VGG11 at width 0.125 (the unnormalised classifier's m_{b,W} shrinks as its weights
 * grow); 0.02 was the best of 0.05, 0.02, 0.01 in a one-epoch probe on 3,000 images.
 */
export const MAIN_JOB_LR: Record<OptimizerId, number> = { sgd: 0.1, 'scale-amended': 0.02 };

function check(cond: boolean, message: string): void {
  if (!cond) throw new UsageError(message);
}

/**
 * A run name becomes one directory under --log-dir: one path segment, nothing that climbs out or nests.
 * `what` names the flag in the message.
 */
export function checkRunName(name: string, what = '--run-name'): string {
  const bad =
    name.trim() === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || name.length > 200;
  if (bad)
    throw new UsageError(
      `${what} ${JSON.stringify(name)}: a run name is one directory name under --log-dir (not empty, no '/', '\\', '.' or '..', at most 200 characters)`,
    );
  return name;
}

/** Validates a complete settings object; messages name the flag. */
export function validateSettings(s: TrainSettings): TrainSettings {
  if (s.runName != null) checkRunName(s.runName);
  check((MODELS as readonly string[]).includes(s.model), `--model: unknown model '${s.model}'`);
  check((DATASETS as readonly string[]).includes(s.dataset), `--dataset: unknown dataset '${s.dataset}'`);
  check((OPTIMIZERS as readonly string[]).includes(s.optimizer), `--optimizer: unknown '${s.optimizer}'`);
  check((SCHEDULES as readonly string[]).includes(s.schedule), `--schedule: unknown '${s.schedule}'`);
  check(s.width > 0 && Number.isFinite(s.width), `--width must be > 0, got ${s.width}`);
  if (s.model === 'mlp')
    check(
      Number.isInteger(s.width) && s.width >= 1,
      '--width of an mlp is its hidden units (an integer >= 1)',
    );
  check(s.lr > 0 && Number.isFinite(s.lr), `--lr must be > 0, got ${s.lr}`);
  check(s.momentum >= 0 && s.momentum < 1, `--momentum must be in [0, 1), got ${s.momentum}`);
  check(s.weightDecay >= 0, `--weight-decay must be >= 0, got ${s.weightDecay}`);
  check(!s.nesterov || s.momentum > 0, '--nesterov needs --momentum > 0');
  check(s.dataset !== 'folder' || s.dataDir != null, '--dataset folder needs --data-dir <dir>');
  check(s.valSplit >= 0, '--val-split must be >= 0');
  check(
    s.plateauFactor > 0 && s.plateauFactor < 1,
    `--plateau-factor must be in (0, 1), got ${s.plateauFactor}`,
  );
  for (const a of s.augment)
    check((AUGMENTS as readonly string[]).includes(a), `--augment: unknown '${a}' (flip, rotate, crop)`);
  return s;
}

/** defaults < preset < explicit flags. */
export function resolveSettings(
  explicit: Partial<TrainSettings>,
  presetName?: string,
  optimizerForLr?: OptimizerId,
): TrainSettings {
  const preset = presetName ? PRESETS[presetName] : undefined;
  if (presetName && !preset) {
    throw new UsageError(
      `--preset: unknown preset '${presetName}' (known: ${Object.keys(PRESETS).join(', ')})`,
    );
  }
  const merged: TrainSettings = { ...DEFAULTS, ...(preset?.settings ?? {}) };
  const model = explicit.model ?? merged.model;
  if (model === 'mlp' && preset?.settings.model !== 'mlp') merged.width = MLP_DEFAULT_WIDTH;
  const opt = explicit.optimizer ?? optimizerForLr ?? merged.optimizer;
  merged.lr = preset ? preset.lr[opt] : MAIN_JOB_LR[opt];
  for (const [k, v] of Object.entries(explicit)) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  return validateSettings(merged);
}

/** Settings a resumed run may change; everything else must match the stored run. */
export const RESUME_OVERRIDABLE: ReadonlySet<keyof TrainSettings> = new Set([
  'epochs',
  'checkpointEvery',
  'keepCheckpoints',
  'logEverySteps',
  'backend',
  'dataDir',
  'evalBatchSize',
]);
