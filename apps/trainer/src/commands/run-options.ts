/** The flags of train and compare (one per setting of TrainSettings, same name in camelCase). */
import { type Command, Option } from 'commander';
import type { CompareOptions } from '../compare-plan';
import {
  BACKEND_CHOICES,
  DATASETS,
  DEFAULTS,
  INITS,
  MLP_DEFAULT_WIDTH,
  MODELS,
  type OptimizerId,
  PRESETS,
  SCHEDULES,
  type TrainSettings,
} from '../config';
import {
  augmentList,
  fraction,
  integer,
  nonNegative,
  nonNegativeInt,
  positive,
  positiveInt,
  shape3,
  unitInterval,
} from './parsers';

const d = DEFAULTS;

export type Opts = Record<string, unknown>;

export function addRunOptions(cmd: Command): Command {
  return addOutputOptions(addTrainingOptions(addModelDataOptions(cmd)));
}

function addModelDataOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--preset <name>', "the paper's settings; other flags override them").choices(
        Object.keys(PRESETS),
      ),
    )
    .addOption(new Option('--model <id>', `network (default ${d.model})`).choices(MODELS))
    .option(
      '--width <x>',
      `VGG width multiplier (default ${d.width}), or MLP hidden units (default ${MLP_DEFAULT_WIDTH})`,
      positive,
    )
    .option('--mlp-layers <n>', `MLP hidden layers (default ${d.mlpLayers})`, positiveInt)
    .addOption(new Option('--init <kind>', `weight initialisation (default ${d.init})`).choices(INITS))
    .addOption(
      new Option('--dataset <id>', `data set (default ${d.dataset}, shipped with @bmp/datasets)`).choices(
        DATASETS,
      ),
    )
    .option('--data-dir <dir>', 'directory of the data files (cifar*, mnist, fashion-mnist, folder)')
    .option('--download', 'cifar10/cifar100: download the official archive into --data-dir first')
    .option(
      '--synthetic-count <n>',
      `synthetic: training images; the test set gets a fifth (default ${d.syntheticCount})`,
      positiveInt,
    )
    .option('--image-shape <HxWxC>', `synthetic: image shape (default ${d.imageShape.join('x')})`, shape3)
    .option('--num-classes <n>', `synthetic: classes (default ${d.numClasses})`, positiveInt)
    .option(
      '--folder-test-fraction <f>',
      `folder without train/ and test/: share held out for test (default ${d.folderTestFraction})`,
      fraction,
    );
}

function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--momentum <m>', `momentum, PyTorch convention (default ${d.momentum})`, unitInterval)
    .option(
      '--weight-decay <wd>',
      `L2 weight decay, added to the gradient before the amendment (default ${d.weightDecay})`,
      nonNegative,
    )
    .option('--nesterov', 'Nesterov momentum')
    .option('--no-position-scaling', 'scale-amended: conv m_{b,W} without the output-positions factor')
    .option('--epochs <n>', `epochs (default ${d.epochs})`, positiveInt)
    .option('--batch-size <n>', `batch size (default ${d.batchSize})`, positiveInt)
    .addOption(
      new Option(
        '--schedule <kind>',
        `learning-rate schedule (default ${d.schedule}); plateau watches validation accuracy with --val-split, else the training loss`,
      ).choices(SCHEDULES),
    )
    .option('--plateau-factor <f>', `plateau: lr factor (default ${d.plateauFactor})`, fraction)
    .option(
      '--plateau-patience <n>',
      `plateau: epochs without improvement (default ${d.plateauPatience})`,
      nonNegativeInt,
    )
    .option('--step-size <n>', `step: epochs between decays (default ${d.stepSize})`, positiveInt)
    .option('--step-gamma <g>', `step: decay factor (default ${d.stepGamma})`, positive)
    .option('--cosine-t-max <n>', 'cosine: half period in epochs (default: --epochs)', positiveInt)
    .option('--cosine-eta-min <lr>', `cosine: lowest lr (default ${d.cosineEtaMin})`, nonNegative)
    .option('--augment <list>', 'comma-separated: flip, rotate, crop (or none; default none)', augmentList)
    .option(
      '--rotation-degrees <d>',
      `rotate: angle uniform in [-d, d] (default ${d.rotationDegrees})`,
      nonNegative,
    )
    .option(
      '--crop-padding <p>',
      `crop: pad by p pixels and crop back at a random offset (default ${d.cropPadding})`,
      nonNegativeInt,
    )
    .option('--max-train-samples <n>', 'use at most n training images (a seeded subset)', positiveInt)
    .option('--max-test-samples <n>', 'use at most n test images (a seeded subset)', positiveInt)
    .option(
      '--val-split <n>',
      'hold out n training images for validation (ReduceLROnPlateau watches them)',
      nonNegativeInt,
    )
    .option(
      '--data-seed <n>',
      `seed of the validation hold-out and subsets (default ${d.dataSeed})`,
      integer,
    );
}

function addOutputOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--backend <name>',
        `tfjs backend via @bmp/backends (default ${d.backend}: node-gpu > webgpu on a GPU > node > wasm > cpu; webgpu by name also runs on a software adapter)`,
      ).choices(BACKEND_CHOICES),
    )
    .option(
      '--log-dir <dir>',
      'directory for runs (default: runs/ in the directory the command was started from)',
    )
    .option(
      '--run-name <name>',
      'name of the run directory (default: model-dataset-optimizer-time, or compare-time)',
    )
    .option(
      '--checkpoint-every <n>',
      `epochs between checkpoints (default ${d.checkpointEvery}; 0: only at the end)`,
      nonNegativeInt,
    )
    .option('--keep-checkpoints <n>', `checkpoints kept per run (default ${d.keepCheckpoints})`, positiveInt)
    .option(
      '--log-every-steps <n>',
      `step records in metrics.jsonl every n steps (default ${d.logEverySteps}; 0: none)`,
      nonNegativeInt,
    )
    .option('--eval-batch-size <n>', `batch size of evaluation (default ${d.evalBatchSize})`, positiveInt)
    .option('--json', 'machine-readable progress: one JSON object per line on stdout');
}

/**
 * Only the settings the user gave on the command line (so presets and stored runs are overridden by
 * nothing else). Every flag's attribute is the setting's name (commander camel-cases --batch-size).
 */
export function explicitSettings(cmd: Command, opts: Opts): Partial<TrainSettings> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(DEFAULTS))
    if (opts[key] !== undefined && cmd.getOptionValueSource(key) === 'cli') out[key] = opts[key];
  return out as Partial<TrainSettings>;
}

/** What compare's flags ask for (local or queued): settings, preset, learning rates, seeds and name. */
export function compareRequest(
  explicit: Partial<TrainSettings>,
  opts: Opts,
): Required<Pick<CompareOptions, 'settings' | 'lrs'>> & Pick<CompareOptions, 'preset' | 'seeds' | 'name'> {
  const lrs: Partial<Record<OptimizerId, number[]>> = {};
  if (opts.lrSgd) lrs.sgd = opts.lrSgd as number[];
  if (opts.lrScaleAmended) lrs['scale-amended'] = opts.lrScaleAmended as number[];
  const seeds = opts.seeds as number[] | undefined;
  return {
    settings: explicit,
    preset: opts.preset as string | undefined,
    lrs,
    seeds: seeds ?? (explicit.seed !== undefined ? [explicit.seed] : undefined),
    name: explicit.runName ?? undefined,
  };
}
