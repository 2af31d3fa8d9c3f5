// Benchmark: step time of ScaleAmendedSGD against MomentumSGD (@bmp/optimizer) on the weights of paper
// VGG13 at width 1 (9,407,168 weights), per backend, and the extra time as a share of one training step
// of paper VGG13 at width 0.25, batch 64, on the same backend.
//
//   pnpm bench optimizer [--backends wasm,cpu] [--steps N] [--warmup N] [--train-steps N] ...
//
// Method
// - Two identical sets of VGG13 weights (same seed), one per optimizer, and one set of random
//   gradients (N(0, 1e-4^2), fixed) fed to both. Same options for both: lr 0.1, momentum 0.9,
//   weight decay 0.005, blocks in forward order, defaults otherwise (so both check gradients for
//   NaN/Inf, one fused reduction and one download each).
// - Steps are interleaved in pairs whose order alternates (SA,M then M,SA ...), after warm-up steps
//   (which also create the momentum slots). Each timed step ends with dataSync() of the smallest
//   updated variable, so the clock stops only once the step's work is done (cpu and wasm execute
//   kernels synchronously anyway). Reported: medians; min/max/quartiles and all times in the JSON.
// - Training step: forward + backward (tf.variableGrads) + MomentumSGD.applyGradients, random input
//   [64, 32, 32, 3] and random one-hot labels, timed to the end of the update.
// - tf.memory().numTensors is recorded around every timed step; it must not grow.
// - wasm: tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter (@bmp/backends adds
//   one) and a slow Conv2DBackpropInput (@bmp/backends replaces it).
//   The share is computed against the training step with both Conv2D-based kernels, the faster step
//   and so the stricter denominator; the step with the stock input-gradient kernel is reported too.
// - cpu: tfjs-backend-cpu's stock Conv2DBackpropFilter took ~90% of a training step (~200 s at batch
//   64 here, ~35x its Conv2D), which would make the share meaningless and the run far too long; the
//   same Conv2D-based filter gradient is used there (--stock-cpu-filter-grad restores the stock one).
// - Warm-up is at least one step: the first step creates the momentum slots (numTensors grows once).

import os from 'node:os';
import { setTrainingKernelMode } from '@bmp/backends/internals';
import { paperVgg } from '@bmp/models';
import { MomentumSGD, ScaleAmendedSGD } from '@bmp/optimizer';
import { machineInfo, writeResults } from './lib/results.mjs';
import { formatTable, median, round, summarize } from './lib/stats.mjs';
import { BACKENDS, tf, useBackend } from './lib/tf.mjs';
import { timedStep } from './lib/timed-step.mjs';

/** Weights of paper VGG13 at width 1 with 10 classes (the same count PyTorch reports for the net). */
const VGG13_WIDTH1_WEIGHTS = 9_407_168;

/** @bmp/models' paper VGG in training mode (BN on batch statistics), as variables, blocks and a loss. */
function buildPaperVGG({
  depth = 13,
  width = 1,
  inChannels = 3,
  numClasses = 10,
  inputSize = 32,
  name,
  seed = 1,
}) {
  const net = paperVgg({
    depth,
    widthMultiplier: width,
    numClasses,
    inputShape: [inputSize, inputSize, inChannels],
    name,
    seed,
  });
  return {
    variables: [...net.trainableVariables],
    blocks: net.blocks,
    numWeights: net.parameterCount,
    lossFn: (x, y) => tf.losses.softmaxCrossEntropy(y, net.apply(x, { training: true })),
    dispose: () => net.dispose(),
  };
}

export const description =
  'ScaleAmendedSGD vs MomentumSGD step time on paper-VGG13 weights (9.4M), and the extra time as a share ' +
  'of a paper-VGG13 (width 0.25, batch 64) training step, per backend.';

export const options = {
  backends: { type: 'string', default: BACKENDS.join(','), help: 'comma-separated backends' },
  steps: { type: 'string', help: 'timed optimizer steps per optimizer (default wasm 30, cpu 10)' },
  warmup: { type: 'string', help: 'untimed optimizer steps per optimizer first (default 3)' },
  'train-steps': { type: 'string', help: 'timed training steps (default wasm 10, cpu 3)' },
  'train-warmup': { type: 'string', help: 'untimed training steps first (default wasm 2, cpu 1)' },
  'skip-train': { type: 'boolean', help: 'do not time training steps (no share is computed)' },
  'skip-cpu-train': { type: 'boolean', help: 'do not time training steps on cpu (slow: ~13 s a step here)' },
  'stock-cpu-filter-grad': {
    type: 'boolean',
    help: "cpu: use tfjs' stock Conv2DBackpropFilter (~200 s a training step here) instead of the Conv2D-based one",
  },
  'skip-stock-wasm-train': {
    type: 'boolean',
    help: 'do not also time wasm training with the stock Conv2DBackpropInput',
  },
  profile: {
    type: 'boolean',
    help: 'after timing, profile one more step of each (tf.profile) and report time per kernel',
  },
  out: { type: 'string', help: 'JSON output path (default bench/results/optimizer-<ISO time>.json)' },
};

const OPTIMIZER_OPTIONS = { learningRate: 0.1, momentum: 0.9, weightDecay: 0.005 };
const TRAIN = { depth: 13, width: 0.25, batch: 64, inputSize: 32, inChannels: 3, numClasses: 10 };
const DEFAULTS = {
  wasm: { steps: 30, warmup: 3, trainSteps: 10, trainWarmup: 2 },
  cpu: { steps: 10, warmup: 3, trainSteps: 3, trainWarmup: 1 },
};
const TARGET_SHARE_PERCENT = 2;
const GRADIENT_STD = 1e-4;

/** An error in the flags: bench/run.mjs prints its message without a stack. */
function usageError(message) {
  return Object.assign(new Error(message), { usage: true });
}

function positiveInt(name, value, fallback, min = 1) {
  if (value == null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw usageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

function smallest(variables) {
  return variables.reduce((a, b) => (b.size < a.size ? b : a));
}

/** Runs `step()` (which returns ms) and checks that numTensors does not change across it. */
function tracked(step, memory) {
  const before = tf.memory().numTensors;
  const ms = step();
  const after = tf.memory().numTensors;
  memory.first ??= before;
  memory.last = after;
  memory.maxGrowth = Math.max(memory.maxGrowth ?? 0, after - before);
  return ms;
}

/** Kernel time by kernel name (ms, largest first) of one run of `fn`, from tf.profile. */
async function kernelBreakdown(fn) {
  const info = await tf.profile(fn);
  const byKernel = {};
  for (const k of info.kernels) byKernel[k.name] = (byKernel[k.name] ?? 0) + k.kernelTimeMs;
  const sorted = Object.entries(byKernel).sort((a, b) => b[1] - a[1]);
  return {
    totalKernelMs: round(sorted.reduce((t, [, ms]) => t + ms, 0)),
    kernels: Object.fromEntries(sorted.map(([name, ms]) => [name, round(ms)])),
  };
}

function formatBreakdown(b, top = 8) {
  const parts = Object.entries(b.kernels)
    .slice(0, top)
    .map(([name, ms]) => `${name} ${ms.toFixed(1)}`);
  return `${b.totalKernelMs.toFixed(1)} ms in kernels: ${parts.join(', ')}`;
}

function allFinite(variables) {
  return tf.tidy(() => variables.every((v) => tf.all(tf.isFinite(v)).dataSync()[0] === 1));
}

async function benchOptimizers(backend, { steps, warmup, profile }) {
  const sets = {
    scaleAmended: buildPaperVGG({ depth: 13, width: 1, name: `bench-${backend}-sa`, seed: 1 }),
    momentum: buildPaperVGG({ depth: 13, width: 1, name: `bench-${backend}-momentum`, seed: 1 }),
  };
  if (sets.momentum.numWeights !== VGG13_WIDTH1_WEIGHTS) {
    throw new Error(`paper VGG13 has ${sets.momentum.numWeights} weights, expected ${VGG13_WIDTH1_WEIGHTS}`);
  }
  const gradients = sets.momentum.variables.map((v, i) =>
    tf.randomNormal(v.shape, 0, GRADIENT_STD, 'float32', 100 + i),
  );
  const contenders = {
    scaleAmended: new ScaleAmendedSGD({
      ...OPTIMIZER_OPTIONS,
      nesterov: false,
      blocks: sets.scaleAmended.blocks,
    }),
    momentum: new MomentumSGD({ ...OPTIMIZER_OPTIONS, blocks: sets.momentum.blocks }),
  };
  const run = {};
  for (const key of Object.keys(contenders)) {
    const { variables } = sets[key];
    const map = Object.fromEntries(variables.map((v, i) => [v.name, gradients[i]]));
    const probe = smallest(variables);
    const opt = contenders[key];
    run[key] = () => {
      const t0 = performance.now();
      opt.applyGradients(map);
      probe.dataSync();
      return performance.now() - t0;
    };
  }
  const order = ['scaleAmended', 'momentum'];
  for (let i = 0; i < warmup; i++) for (const key of order) run[key]();
  const times = { scaleAmended: [], momentum: [] };
  const memory = {};
  for (let i = 0; i < steps; i++) {
    const pair = i % 2 === 0 ? order : [...order].reverse();
    for (const key of pair) times[key].push(tracked(run[key], memory));
  }
  let profiles;
  if (profile) {
    profiles = {};
    for (const key of order) {
      profiles[key] = await kernelBreakdown(() => run[key]());
    }
  }
  const finite = allFinite([...sets.scaleAmended.variables, ...sets.momentum.variables]);
  for (const opt of Object.values(contenders)) opt.dispose();
  for (const set of Object.values(sets)) set.dispose();
  tf.dispose(gradients);
  return {
    weights: VGG13_WIDTH1_WEIGHTS,
    variables: sets.momentum.variables.length,
    steps,
    warmup,
    scaleAmended: summarize(times.scaleAmended),
    momentum: summarize(times.momentum),
    // Step i of each optimizer ran back to back, so per-pair figures cancel slow drifts in machine load.
    paired: {
      medianExtraMs: round(median(times.scaleAmended.map((t, i) => t - times.momentum[i]))),
      medianRatio: round(median(times.scaleAmended.map((t, i) => t / times.momentum[i])), 4),
    },
    numTensors: { ...memory, flat: memory.maxGrowth === 0 && memory.first === memory.last },
    weightsFiniteAfter: finite,
    ...(profiles ? { profile: profiles } : {}),
  };
}

async function benchTraining(backend, { steps, warmup, profile }) {
  const model = buildPaperVGG({ ...TRAIN, name: `bench-${backend}-train-${Date.now()}`, seed: 2 });
  const opt = new MomentumSGD({ ...OPTIMIZER_OPTIONS, blocks: model.blocks });
  const x = tf.randomNormal(
    [TRAIN.batch, TRAIN.inputSize, TRAIN.inputSize, TRAIN.inChannels],
    0,
    1,
    'float32',
    3,
  );
  const y = tf.tidy(() =>
    tf.cast(
      tf.oneHot(tf.randomUniform([TRAIN.batch], 0, TRAIN.numClasses, 'int32', 4), TRAIN.numClasses),
      'float32',
    ),
  );
  const probe = smallest(model.variables);
  const losses = [];
  const step = timedStep({
    loss: () => model.lossFn(x, y),
    variables: model.variables,
    optimizer: opt,
    probe,
    losses,
  });
  for (let i = 0; i < warmup; i++) step();
  const memory = {};
  const times = [];
  for (let i = 0; i < steps; i++) times.push(tracked(step, memory));
  const breakdown = profile ? await kernelBreakdown(() => step()) : undefined;
  const finite = allFinite(model.variables);
  const weights = model.numWeights;
  opt.dispose();
  model.dispose();
  tf.dispose([x, y]);
  const summary = summarize(times);
  return {
    ...TRAIN,
    weights,
    optimizer: 'MomentumSGD',
    steps,
    warmup,
    ...summary,
    imagesPerSecond: round(TRAIN.batch / (summary.medianMs / 1000), 1),
    losses: losses.map((l) => round(l, 4)),
    numTensors: { ...memory, flat: memory.maxGrowth === 0 && memory.first === memory.last },
    weightsFiniteAfter: finite,
    ...(breakdown ? { profile: breakdown } : {}),
  };
}

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export async function run(values) {
  const backends = values.backends
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const b of backends) {
    if (!BACKENDS.includes(b)) throw usageError(`unknown backend '${b}'; known: ${BACKENDS.join(', ')}`);
  }
  if (backends.length === 0) throw usageError(`--backends lists no backend; known: ${BACKENDS.join(', ')}`);
  const profile = values.profile === true;
  const configs = Object.fromEntries(
    backends.map((backend) => {
      const d = DEFAULTS[backend];
      const cfg = {
        steps: positiveInt('steps', values.steps, d.steps),
        warmup: positiveInt('warmup', values.warmup, d.warmup),
        trainSteps: positiveInt('train-steps', values['train-steps'], d.trainSteps),
        trainWarmup: positiveInt('train-warmup', values['train-warmup'], d.trainWarmup),
      };
      return [backend, cfg];
    }),
  );
  const machine = machineInfo();
  console.log(
    `optimizer benchmark: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, ` +
      `tfjs-core ${machine.packages['@tensorflow/tfjs-core']}, @bmp/optimizer ${machine.packages['@bmp/optimizer']}, ` +
      `load average ${machine.loadAverage1m5m15m.join(' ')}`,
  );
  const results = [];
  for (const backend of backends) {
    const cfg = configs[backend];
    setTrainingKernelMode('cpu:Conv2DBackpropFilter', values['stock-cpu-filter-grad'] ? 'stock' : 'fast');
    const backendInfo = await useBackend(backend);
    const kernels = Object.entries(backendInfo)
      .filter(([k]) => k !== 'backend')
      .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
    console.log(`\n[${backend}] ${kernels.join('; ')}`);
    console.log(
      `\n[${backend}] optimizer steps on ${VGG13_WIDTH1_WEIGHTS} weights: ${cfg.warmup} warm-up + ${cfg.steps} timed each ...`,
    );
    const optimizers = await benchOptimizers(backend, { steps: cfg.steps, warmup: cfg.warmup, profile });
    const sa = optimizers.scaleAmended.medianMs;
    const mo = optimizers.momentum.medianMs;
    console.log(`[${backend}] ScaleAmendedSGD ${fmt(sa)} ms, MomentumSGD ${fmt(mo)} ms (medians)`);
    const entry = {
      ...backendInfo,
      optimizers,
      rawRatio: round(sa / mo, 4),
      extraMs: round(sa - mo),
    };
    const skipTrain = values['skip-train'] || (backend === 'cpu' && values['skip-cpu-train']);
    if (!skipTrain) {
      console.log(
        `[${backend}] training steps (VGG13 w${TRAIN.width}, batch ${TRAIN.batch}): ${cfg.trainWarmup} warm-up + ${cfg.trainSteps} timed ...`,
      );
      entry.trainStep = await benchTraining(backend, {
        steps: cfg.trainSteps,
        warmup: cfg.trainWarmup,
        profile,
      });
      console.log(`[${backend}] training step ${fmt(entry.trainStep.medianMs)} ms (median)`);
      entry.extraPercentOfTrainStep = round((100 * (sa - mo)) / entry.trainStep.medianMs, 3);
      entry.meetsTarget = entry.extraPercentOfTrainStep <= TARGET_SHARE_PERCENT;
      if (backend === 'wasm' && !values['skip-stock-wasm-train']) {
        const steps = Math.max(1, Math.min(cfg.trainSteps, 5));
        const warmup = Math.min(cfg.trainWarmup, 1);
        console.log(
          `[wasm] training steps with the stock wasm Conv2DBackpropInput: ${warmup} warm-up + ${steps} timed ...`,
        );
        setTrainingKernelMode('wasm:Conv2DBackpropInput', 'stock');
        try {
          const stock = await benchTraining(backend, { steps, warmup });
          entry.trainStepStockWasmInputGrad = stock;
          entry.extraPercentOfStockTrainStep = round((100 * (sa - mo)) / stock.medianMs, 3);
        } finally {
          setTrainingKernelMode('wasm:Conv2DBackpropInput', 'fast');
        }
      }
    }
    results.push(entry);
  }

  const rows = results.map((r) => ({
    backend: r.backend,
    sa: fmt(r.optimizers.scaleAmended.medianMs),
    mo: fmt(r.optimizers.momentum.medianMs),
    ratio: fmt(r.rawRatio, 3),
    extra: fmt(r.extraMs),
    train: r.trainStep ? fmt(r.trainStep.medianMs) : 'skipped',
    ips: r.trainStep ? fmt(r.trainStep.imagesPerSecond) : '-',
    share: r.trainStep ? `${fmt(r.extraPercentOfTrainStep, 2)}%` : '-',
    target: r.trainStep ? (r.meetsTarget ? 'yes' : 'NO') : '-',
    steps: `${r.optimizers.steps}/${r.trainStep ? r.trainStep.steps : 0}`,
    tensors: [r.optimizers.numTensors, r.trainStep?.numTensors].every((m) => m == null || m.flat)
      ? 'flat'
      : 'GROWS',
  }));
  const table = formatTable(
    [
      { key: 'backend', label: 'backend', align: 'left' },
      { key: 'sa', label: 'ScaleAmended ms' },
      { key: 'mo', label: 'Momentum ms' },
      { key: 'ratio', label: 'raw ratio' },
      { key: 'extra', label: 'extra ms' },
      { key: 'train', label: 'train step ms' },
      { key: 'ips', label: 'img/s' },
      { key: 'share', label: 'extra/step' },
      { key: 'target', label: `<=${TARGET_SHARE_PERCENT}%` },
      { key: 'steps', label: 'steps opt/train' },
      { key: 'tensors', label: 'numTensors' },
    ],
    rows,
  );
  console.log(
    `\nScaleAmendedSGD vs MomentumSGD, paper-VGG13 weights (${VGG13_WIDTH1_WEIGHTS.toLocaleString('en-US')}), ` +
      `medians; training step: paper VGG13 width ${TRAIN.width}, batch ${TRAIN.batch}, ${TRAIN.inputSize}x${TRAIN.inputSize}x${TRAIN.inChannels}, MomentumSGD\n`,
  );
  console.log(table);
  for (const r of results) {
    if (r.trainStepStockWasmInputGrad) {
      const s = r.trainStepStockWasmInputGrad;
      console.log(
        `\n[wasm] with the stock wasm Conv2DBackpropInput the training step is ${fmt(s.medianMs)} ms ` +
          `(median of ${s.steps}); extra/step would be ${fmt(r.extraPercentOfStockTrainStep, 2)}%.`,
      );
    }
    const spread = (s) => `${fmt(s.minMs)}-${fmt(s.maxMs)}`;
    console.log(
      `[${r.backend}] ranges (min-max ms): ScaleAmended ${spread(r.optimizers.scaleAmended)}, ` +
        `Momentum ${spread(r.optimizers.momentum)}` +
        (r.trainStep ? `, train step ${spread(r.trainStep)}` : '') +
        `; per-pair medians: extra ${fmt(r.optimizers.paired.medianExtraMs)} ms, ratio ${fmt(r.optimizers.paired.medianRatio, 3)}` +
        `; numTensors optimizer ${r.optimizers.numTensors.first}->${r.optimizers.numTensors.last}` +
        (r.trainStep ? `, train ${r.trainStep.numTensors.first}->${r.trainStep.numTensors.last}` : ''),
    );
  }

  for (const r of results) {
    const p = r.optimizers.profile;
    if (p) {
      console.log(`[${r.backend}] profile ScaleAmendedSGD: ${formatBreakdown(p.scaleAmended)}`);
      console.log(`[${r.backend}] profile MomentumSGD:     ${formatBreakdown(p.momentum)}`);
    }
    if (r.trainStep?.profile)
      console.log(`[${r.backend}] profile training step: ${formatBreakdown(r.trainStep.profile)}`);
  }

  const result = {
    benchmark: 'optimizer',
    description,
    target: `extra time of ScaleAmendedSGD over MomentumSGD <= ${TARGET_SHARE_PERCENT}% of a training step`,
    machine,
    settings: {
      optimizerWeights: { model: 'paper VGG13', width: 1, numClasses: 10, weights: VGG13_WIDTH1_WEIGHTS },
      optimizerOptions: { ...OPTIMIZER_OPTIONS, nesterov: false, gradientStd: GRADIENT_STD },
      order: 'interleaved pairs, alternating order (SA,M / M,SA)',
      trainStep: { ...TRAIN, optimizer: 'MomentumSGD', ...OPTIMIZER_OPTIONS },
    },
    results,
    loadAverageAtEnd1m5m15m: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const paths = writeResults('optimizer', result, values.out);
  console.log(`\nwrote ${paths.join(' and ')}`);
  const grew = results.filter(
    (r) => !r.optimizers.numTensors.flat || (r.trainStep && !r.trainStep.numTensors.flat),
  );
  if (grew.length > 0) {
    console.error(`numTensors grew across timed steps on: ${grew.map((r) => r.backend).join(', ')}`);
    process.exitCode = 1;
  }
}
