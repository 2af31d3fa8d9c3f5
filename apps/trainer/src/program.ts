/** bmp-train: the command line (parsing, commands, exit codes). `cli.ts` runs it. */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AnalyzeProgress } from './analyze';
import {
  type CompareResult,
  compare,
  compareInProcesses,
  formatTable,
  overridableSettings,
  plannedRun,
  resumeCompare,
} from './compare';
import {
  AUGMENTS,
  BACKEND_CHOICES,
  DATASETS,
  DEFAULTS,
  INITS,
  MLP_DEFAULT_WIDTH,
  MODELS,
  OPTIMIZERS,
  type OptimizerId,
  PRESETS,
  SCHEDULES,
  type TrainSettings,
  UsageError,
} from './config';
import { TRAINER_VERSION } from './environment';
import { debugEnabled, EXIT, reportError } from './errors';
import { type Interrupts, watchInterrupts } from './interrupts';
import { createReporter, defaultMode, type Reporter } from './progress';
import type { RunResult } from './run';
import { train } from './train';

// ---- value parsers: each names what it expected --------------------------------------------------

function num(what: string, ok: (x: number) => boolean) {
  return (value: string): number => {
    const x = Number(value);
    if (value.trim() === '' || !Number.isFinite(x) || !ok(x))
      throw new InvalidArgumentError(`expected ${what}.`);
    return x;
  };
}
const positive = num('a number > 0', (x) => x > 0);
const nonNegative = num('a number >= 0', (x) => x >= 0);
const positiveInt = num('an integer >= 1', (x) => Number.isInteger(x) && x >= 1);
const nonNegativeInt = num('an integer >= 0', (x) => Number.isInteger(x) && x >= 0);
const integer = num('an integer', (x) => Number.isInteger(x));
const unitInterval = num('a number in [0, 1)', (x) => x >= 0 && x < 1);
const fraction = num('a number in (0, 1)', (x) => x > 0 && x < 1);

function positiveList(value: string): number[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new InvalidArgumentError('expected a comma-separated list of numbers > 0.');
  return items.map((s) => positive(s));
}

function augmentList(value: string): TrainSettings['augment'] {
  if (value === 'none' || value === '') return [];
  const items = value.split(',').map((s) => s.trim());
  for (const i of items) {
    if (!(AUGMENTS as readonly string[]).includes(i)) {
      throw new InvalidArgumentError(
        `unknown augmentation '${i}'; expected a comma-separated list of ${AUGMENTS.join(', ')} (or none).`,
      );
    }
  }
  return items as TrainSettings['augment'];
}

function shape3(value: string): [number, number, number] {
  const parts = value.split(/[x,]/).map((s) => Number(s));
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new InvalidArgumentError('expected HxWxC, e.g. 32x32x3.');
  }
  return parts as [number, number, number];
}

function blockList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === ''))
    throw new InvalidArgumentError(
      'expected comma-separated block names, e.g. conv1,conv2 (no empty names).',
    );
  return names;
}

function seedsOption(value: string): number[] {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1) throw new InvalidArgumentError('expected a count >= 1 or a comma-separated list of seeds.');
    return Array.from({ length: n }, (_, i) => i);
  }
  const items = value.split(',').map((s) => s.trim());
  if (items.length < 1 || items.some((s) => !/^-?\d+$/.test(s))) {
    throw new InvalidArgumentError(
      'expected a count (3 = seeds 0,1,2) or a comma-separated list of integer seeds.',
    );
  }
  return items.map(Number);
}

const d = DEFAULTS;

// ---- options shared by train and compare ----------------------------------------------------------

function addRunOptions(cmd: Command): Command {
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
    )
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
    .option('--data-seed <n>', `seed of the validation hold-out and subsets (default ${d.dataSeed})`, integer)
    .addOption(
      new Option(
        '--backend <name>',
        `tfjs backend via @bmp/backends (default ${d.backend}: node-gpu > node > wasm > cpu)`,
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

type Opts = Record<string, unknown>;

const FLAG_TO_SETTING: Record<string, keyof TrainSettings> = {
  model: 'model',
  width: 'width',
  mlpLayers: 'mlpLayers',
  init: 'init',
  dataset: 'dataset',
  dataDir: 'dataDir',
  download: 'download',
  syntheticCount: 'syntheticCount',
  imageShape: 'imageShape',
  numClasses: 'numClasses',
  folderTestFraction: 'folderTestFraction',
  optimizer: 'optimizer',
  lr: 'lr',
  momentum: 'momentum',
  weightDecay: 'weightDecay',
  nesterov: 'nesterov',
  epochs: 'epochs',
  batchSize: 'batchSize',
  seed: 'seed',
  dataSeed: 'dataSeed',
  schedule: 'schedule',
  plateauFactor: 'plateauFactor',
  plateauPatience: 'plateauPatience',
  stepSize: 'stepSize',
  stepGamma: 'stepGamma',
  cosineTMax: 'cosineTMax',
  cosineEtaMin: 'cosineEtaMin',
  augment: 'augment',
  rotationDegrees: 'rotationDegrees',
  cropPadding: 'cropPadding',
  maxTrainSamples: 'maxTrainSamples',
  maxTestSamples: 'maxTestSamples',
  valSplit: 'valSplit',
  backend: 'backend',
  logDir: 'logDir',
  runName: 'runName',
  checkpointEvery: 'checkpointEvery',
  keepCheckpoints: 'keepCheckpoints',
  logEverySteps: 'logEverySteps',
  evalBatchSize: 'evalBatchSize',
};

/** Only the flags the user gave (so presets and stored runs are overridden by nothing else). */
function explicitSettings(cmd: Command, opts: Opts): Partial<TrainSettings> {
  const out: Partial<TrainSettings> = {};
  for (const [flag, key] of Object.entries(FLAG_TO_SETTING)) {
    if (opts[flag] !== undefined && cmd.getOptionValueSource(flag) === 'cli') {
      (out as Record<string, unknown>)[key] = opts[flag];
    }
  }
  if (cmd.getOptionValueSource('positionScaling') === 'cli')
    out.positionScaling = opts.positionScaling as boolean;
  return out;
}

// ---- process-level behaviour ----------------------------------------------------------------------

export { EXIT };

function interrupts(reporter: () => Reporter | null): Interrupts {
  return watchInterrupts((name) => {
    reporter()?.event({
      type: 'message',
      level: 'warn',
      text: `interrupted (${name}): saving a checkpoint at the next step (send it again to quit at once)`,
    });
  });
}

function runExit(status: RunResult['status'], stop: Interrupts): number {
  if (status === 'completed') return EXIT.ok;
  if (status === 'diverged') return EXIT.diverged;
  return stop.exitCode() ?? EXIT.sigint;
}

// ---- commands --------------------------------------------------------------------------------------

async function trainAction(this: Command, opts: Opts): Promise<void> {
  const reporter = createReporter(defaultMode(Boolean(opts.json)));
  const stop = interrupts(() => reporter);
  const signal = stop.signal;
  try {
    let result: RunResult;
    if (opts.compareDir || opts.compareRun) {
      if (!opts.compareDir || !opts.compareRun)
        throw new UsageError('--compare-dir and --compare-run go together');
      const { plan, run } = await plannedRun(String(opts.compareDir), String(opts.compareRun));
      const runDir = join(String(opts.compareDir), run.runName);
      // compare --resume: continue the run from its checkpoint when it has started, else start it
      result =
        opts.compareResume && existsSync(join(runDir, 'config.json'))
          ? await train({ resume: runDir, settings: overridableSettings(run.settings), reporter, signal })
          : await train({ settings: run.settings, compareId: plan.compareId, reporter, signal });
    } else {
      const explicit = explicitSettings(this, opts);
      if (opts.resume) {
        result = await train({
          resume: String(opts.resume),
          preset: opts.preset as string | undefined,
          settings: explicit,
          reporter,
          signal,
        });
      } else {
        result = await train({
          settings: explicit,
          preset: opts.preset as string | undefined,
          reporter,
          signal,
        });
      }
    }
    reporter.close();
    if (!opts.json) {
      const last = result.epochs[result.epochs.length - 1];
      const stream = result.status === 'completed' ? process.stdout : process.stderr;
      if (result.status !== 'completed') stream.write(`${result.message}\n`);
      if (last?.testError !== undefined)
        stream.write(
          `final test error ${(100 * last.testError).toFixed(2)}%, best ${(100 * (result.bestTestError ?? 0)).toFixed(2)}%\n`,
        );
      stream.write(
        `logs: ${result.runDir} (config.json, metrics.jsonl, TensorBoard events: tensorboard --logdir ${result.runDir}, checkpoints/)\n` +
          `viewer (from the repository): pnpm viewer --log-dir ${dirname(result.runDir)}\n`,
      );
    }
    process.exitCode = runExit(result.status, stop);
  } finally {
    reporter.close();
    stop.dispose();
  }
}

async function compareAction(this: Command, opts: Opts): Promise<void> {
  const reporter = createReporter(defaultMode(Boolean(opts.json)));
  const stop = interrupts(() => reporter);
  const signal = stop.signal;
  const explicit = explicitSettings(this, opts);
  const lrs: Partial<Record<OptimizerId, number[]>> = {};
  if (opts.lrSgd) lrs.sgd = opts.lrSgd as number[];
  if (opts.lrScaleAmended) lrs['scale-amended'] = opts.lrScaleAmended as number[];
  const seeds = opts.seeds as number[] | undefined;
  const common = {
    settings: explicit,
    preset: opts.preset as string | undefined,
    lrs,
    seeds: seeds ?? (explicit.seed !== undefined ? [explicit.seed] : undefined),
    name: explicit.runName ?? undefined,
    reporter,
    signal,
  };
  const runs =
    (seeds?.length ?? 1) * ((opts.lrSgd as number[] | undefined)?.length ?? 1) +
    (seeds?.length ?? 1) * ((opts.lrScaleAmended as number[] | undefined)?.length ?? 1);
  let jobs = (opts.jobs as number | undefined) ?? Math.min(2, availableParallelism(), runs);
  let result: CompareResult;
  try {
    if (opts.resume) {
      for (const flag of ['lrSgd', 'lrScaleAmended', 'seeds', 'preset'])
        if (opts[flag] !== undefined)
          throw new UsageError(
            `compare --resume: --${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} cannot change a stored comparison`,
          );
      if (opts.jobs === undefined) jobs = Math.min(2, availableParallelism());
      result = await resumeCompare({
        dir: String(opts.resume),
        settings: explicit,
        reporter,
        signal,
        jobs,
        cli: process.argv[1],
        execArgv: process.execArgv,
      });
    } else if (jobs > 1) {
      result = await compareInProcesses({
        ...common,
        jobs,
        cli: process.argv[1],
        execArgv: process.execArgv,
      });
    } else {
      result = await compare(common);
    }
  } finally {
    reporter.close();
    stop.dispose();
  }
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ type: 'compare', compareId: result.compareId, dir: result.dir, status: result.status, summary: result.summary, checks: result.checks })}\n`,
    );
  } else {
    const out: string[] = ['', formatTable(result), ''];
    for (const c of result.checks) {
      out.push(
        `seed ${c.seed}: initial weights ${c.initWeightsMatch ? 'identical across runs' : 'DIFFER across runs'} (hash ${[...new Set(c.initWeightsHashes)].join(', ')}); ` +
          `batch order ${c.orderHashesMatch ? 'identical in every epoch' : 'DIFFERS'}`,
      );
    }
    out.push(
      '',
      `logs: ${result.dir}`,
      `  per run: config.json, metrics.jsonl, TensorBoard events, checkpoints/; summary: ${join(result.dir, 'compare.json')}`,
      `  TensorBoard: tensorboard --logdir ${result.dir}`,
      `  viewer (from the repository): pnpm viewer --log-dir ${dirname(result.dir)}`,
      `  local Hessians of a run: pnpm bmp-train analyze ${join(result.dir, '<run>')}`,
    );
    if (result.status !== 'completed')
      out.push(
        `status: ${result.status}${result.status === 'interrupted' ? ` (continue with: bmp-train compare --resume ${result.dir})` : ''}`,
      );
    process.stdout.write(`${out.join('\n')}\n`);
  }
  const bad = result.checks.some((c) => !c.initWeightsMatch || !c.orderHashesMatch);
  if (bad) {
    process.stderr.write(
      'error: the runs of a seed did not start from the same weights or see the same batches\n',
    );
    process.exitCode = EXIT.internal;
  } else process.exitCode = runExit(result.status, stop);
}

async function analyzeAction(runDir: string, opts: Opts): Promise<void> {
  const json = Boolean(opts.json);
  const line = (e: AnalyzeProgress): string => {
    switch (e.type) {
      case 'start':
        return `analyze ${e.runDir}: checkpoint ${e.checkpoint}, ${e.blocks.length} block(s), batch of ${e.batchSize}, backend ${e.backend}`;
      case 'block':
        return `[${e.index + 1}/${e.count}] ${e.name}: ${e.summary} (${e.seconds.toFixed(1)} s)`;
      case 'claims':
        return `claims: ${e.text}`;
      case 'done':
        return `analysis written to ${e.out} (${e.seconds.toFixed(1)} s)`;
    }
  };
  // loaded on demand: train and compare do not need @bmp/backmatching
  const { analyze } = await import('./analyze');
  const { report, out } = await analyze({
    runDir,
    checkpoint: opts.checkpoint as string | undefined,
    out: opts.out as string | undefined,
    batchSize: opts.batchSize as number | undefined,
    seed: opts.seed as number | undefined,
    maxDenseDim: opts.maxDenseDim as number | undefined,
    lanczosK: opts.lanczosK as number | undefined,
    lanczosSteps: opts.lanczosSteps as number | undefined,
    traceProbes: opts.traceProbes as number | undefined,
    blocks: opts.blocks as string[] | undefined,
    claims: opts.claims as boolean,
    backend: opts.backend as TrainSettings['backend'] | undefined,
    onProgress: (e) => process.stdout.write(`${json ? JSON.stringify(e) : line(e)}\n`),
  });
  if (!json) {
    const failed = report.claims.filter((c) => !c.passed);
    if (report.claims.length > 0)
      process.stdout.write(
        `paper claims: ${report.claims.length - failed.length}/${report.claims.length} passed${failed.length ? ` (failed: ${failed.map((c) => c.name).join(', ')})` : ''}\n`,
      );
    process.stdout.write(`report: ${out}\n`);
  }
}

export interface ProgramHooks {
  /** Replace the actions (tests: parse only). */
  train?: (cmd: Command, opts: Opts, explicit: Partial<TrainSettings>) => void | Promise<void>;
  compare?: (cmd: Command, opts: Opts, explicit: Partial<TrainSettings>) => void | Promise<void>;
  analyze?: (runDir: string, opts: Opts) => void | Promise<void>;
  writeOut?: (s: string) => void;
  writeErr?: (s: string) => void;
}

export function buildProgram(hooks: ProgramHooks = {}): Command {
  const program = new Command('bmp-train')
    .exitOverride()
    .configureOutput({
      writeOut: hooks.writeOut ?? ((s) => process.stdout.write(s)),
      writeErr: hooks.writeErr ?? ((s) => process.stderr.write(s)),
    })
    .description('Scale-amended SGD (Zhang, Chen, Liu, NeurIPS 2018) against momentum SGD, run for run')
    .version(TRAINER_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .option('--debug', 'print stack traces of errors (also BMP_DEBUG=1)')
    .configureHelp({ sortOptions: false, showGlobalOptions: false });

  const trainCmd = addRunOptions(
    program
      .command('train')
      .description('one training run')
      .helpOption('-h, --help', 'show the flags of train'),
  )
    .addOption(new Option('--optimizer <id>', `optimizer (default ${d.optimizer})`).choices(OPTIMIZERS))
    .option(
      '--lr <lr>',
      "learning rate (default 0.1 for sgd, 0.02 for scale-amended; the preset's with --preset)",
      positive,
    )
    .option('--seed <n>', `seed of initialisation, order and augmentation (default ${d.seed})`, integer)
    .option(
      '--resume <run-dir>',
      'continue the run stored in that directory (flags such as a larger --epochs override it)',
    )
    .addOption(new Option('--compare-dir <dir>').hideHelp())
    .addOption(new Option('--compare-run <name>').hideHelp())
    .addOption(new Option('--compare-resume').hideHelp())
    .action(
      hooks.train
        ? async function (this: Command, opts: Opts) {
            await hooks.train!(this, opts, explicitSettings(this, opts));
          }
        : trainAction,
    );
  trainCmd.addHelpText('after', presetHelp());

  const compareCmd = addRunOptions(
    program
      .command('compare')
      .description(
        'both optimizers from the same initial weights over the same batches (the default: the main job)',
      )
      .helpOption('-h, --help', 'show the flags of compare'),
  )
    .option(
      '--lr-sgd <lrs>',
      'learning rate(s) of momentum SGD, comma-separated for a sweep (default 0.1)',
      positiveList,
    )
    .option(
      '--lr-scale-amended <lrs>',
      'learning rate(s) of scale-amended SGD, comma-separated for a sweep (default 0.02)',
      positiveList,
    )
    .option('--seed <n>', `seed of the comparison when --seeds is not given (default ${d.seed})`, integer)
    .option('--seeds <n|list>', 'number of seeds (3 = seeds 0,1,2) or a comma-separated list', seedsOption)
    .option(
      '--jobs <n>',
      'runs at once, each in its own process (default: 2 on 2+ cores; 1 runs in this process)',
      positiveInt,
    )
    .option(
      '--resume <compare-dir>',
      'continue an interrupted comparison: finished runs are skipped, the others resume from their checkpoint or start (flags such as a larger --epochs apply to every run)',
    )
    .action(
      hooks.compare
        ? async function (this: Command, opts: Opts) {
            await hooks.compare!(this, opts, explicitSettings(this, opts));
          }
        : compareAction,
    );
  compareCmd.addHelpText('after', presetHelp());

  program
    .command('analyze')
    .description(
      "local Hessians of a run's checkpoint, block by block: spectra, condition numbers, Marchenko-Pastur, eq. (24) scalars (writes analysis.json)",
    )
    .helpOption('-h, --help', 'show the flags of analyze')
    .argument('<run-dir>', 'a run directory (with config.json and checkpoints/)')
    .option('--checkpoint <dir>', 'checkpoint directory to analyse (default: the latest of the run)')
    .option('--out <file>', 'report file (default <run-dir>/analysis.json)')
    .option('--batch-size <n>', 'images of the analysed batch of training data (default 16)', positiveInt)
    .option('--seed <n>', 'picks the batch; seeds Lanczos and Hutchinson (default 0)', integer)
    .option(
      '--max-dense-dim <n>',
      'every eigenvalue up to this dimension, Lanczos extreme eigenvalues above (default 1024)',
      positiveInt,
    )
    .option('--lanczos-k <n>', 'Lanczos: eigenvalues at each end (default 3)', positiveInt)
    .option('--lanczos-steps <n>', 'Lanczos: most products (default 80)', positiveInt)
    .option(
      '--trace-probes <n>',
      'Hutchinson probes for trace/dim above --max-dense-dim (default 16)',
      positiveInt,
    )
    .option('--blocks <names>', 'comma-separated block names (default: every block)', blockList)
    .option('--no-claims', "skip the paper's claims checks (runPaperClaims of @bmp/backmatching)")
    .addOption(
      new Option(
        '--backend <name>',
        'tfjs backend (default auto; the forward pass is checked against the model)',
      ).choices(BACKEND_CHOICES),
    )
    .option('--json', 'progress as JSON lines on stdout')
    .action(
      hooks.analyze ? async (runDir: string, opts: Opts) => hooks.analyze!(runDir, opts) : analyzeAction,
    );

  program
    .command('presets')
    .description('list the presets, with the values the paper does not give and that they assume')
    .action(() => {
      process.stdout.write(`${presetHelp()}\n`);
    });
  return program;
}

function presetHelp(): string {
  const lines = ['', 'Presets:'];
  for (const [name, p] of Object.entries(PRESETS)) {
    lines.push(`  ${name}: ${p.description}`);
    for (const [k, v] of Object.entries(p.assumed)) lines.push(`    assumed ${k}: ${v}`);
  }
  return lines.join('\n');
}

const PROGRAM_FLAGS = new Set(['-h', '--help', '-V', '--version']);

/**
 * compare is the default command: `bmp-train` and `bmp-train --epochs 1` run it (flags first means no
 * command was named); `bmp-train --help` and `--version` stay the program's. `--debug` may come first.
 */
export function withDefaultCommand(argv: readonly string[]): string[] {
  const out = [...argv];
  let i = 2;
  while (out[i] === '--debug') i++;
  if (i >= out.length || (out[i].startsWith('-') && !PROGRAM_FLAGS.has(out[i]))) out.splice(i, 0, 'compare');
  return out;
}

export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(withDefaultCommand(argv));
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      // commander has printed the message (help and version exit 0)
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    process.exitCode = reportError(e, (t) => process.stderr.write(t), debugEnabled(argv));
  }
}
