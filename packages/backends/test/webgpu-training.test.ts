// A paper VGG trains on WebGPU in Node (Dawn; llvmpipe on CI) as it does on the cpu backend: same initial
// weights on both, then the gradients of one training-mode step (BN on batch statistics, conv, ReLU,
// max-pool, softmax cross-entropy), the weights after one MomentumSGD and one ScaleAmendedSGD step, and
// no tensor or GPU memory growth over steps.
//
// In Node, tfjs-backend-webgpu cannot read a GPU-resident tensor synchronously (dataSync needs an
// OffscreenCanvas), so webgpu values are read only with `await data()`, and the optimizers run with
// `checkFinite: false`: their finiteness check downloads with dataSync and would throw here.
import { paperVgg } from '@bmp/models';
import { MomentumSGD, ScaleAmendedSGD } from '@bmp/optimizer';
import { tf, webgpuOrSkip } from '@bmp/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src';

// Paper VGG11 at width 0.125 (8..64 channels), 32x32x3, batch 8: every layer kind of the paper's nets at
// a size llvmpipe compiles and runs in seconds.
const BATCH = 8;
const CLASSES = 4;
const SHAPE: [number, number, number] = [32, 32, 3];

/**
 * Largest |webgpu - cpu| over a tensor relative to the tensor's largest |cpu| (float32 sums run in a
 * different order on the GPU: the error is relative to the tensor's scale, not to each element, whose
 * exact value may be a cancellation near 0).
 */
function scaledMaxDiff(gpu: ArrayLike<number>, cpu: ArrayLike<number>): number {
  expect(gpu.length).toBe(cpu.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < cpu.length; i++) {
    diff = Math.max(diff, Math.abs(gpu[i] - cpu[i]));
    scale = Math.max(scale, Math.abs(cpu[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

type Values = Map<string, Float32Array>;

/** Every variable's values (weights and BN running statistics): await data() works on every backend. */
async function readVariables(model: ReturnType<typeof paperVgg>): Promise<Values> {
  const out: Values = new Map();
  for (const [name, v] of model.namedVariables()) out.set(name, (await v.data()) as Float32Array);
  return out;
}

/** A model on the current backend holding `values` (uploaded from host arrays: the same bits everywhere). */
function buildModel(values?: Values) {
  const model = paperVgg({
    depth: 11,
    numClasses: CLASSES,
    widthMultiplier: 0.125,
    inputShape: SHAPE,
    seed: 7,
  });
  if (values != null) assignAll(model, values);
  return model;
}

function assignAll(model: ReturnType<typeof paperVgg>, values: Values): void {
  for (const [name, v] of model.namedVariables()) {
    const t = tf.tensor(values.get(name) as Float32Array, v.shape);
    v.assign(t);
    t.dispose();
  }
}

/** The step's inputs from host arrays, created on the current backend. */
function batch(input: { x: Float32Array; labels: Int32Array }) {
  const x = tf.tensor4d(input.x, [BATCH, ...SHAPE]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(input.labels, 'int32'), CLASSES));
  return { x, y };
}

/** Mean softmax cross-entropy of the model in training mode (BN on batch statistics). */
function lossOf(model: ReturnType<typeof paperVgg>, x: tf.Tensor, y: tf.Tensor): () => tf.Scalar {
  return () => {
    const logits = model.apply(x, { training: true });
    const logProbs = tf.sub(logits, tf.logSumExp(logits, 1, true));
    return tf.neg(tf.mean(tf.sum(tf.mul(y, logProbs), 1))) as tf.Scalar;
  };
}

type OptimizerKind = 'momentum' | 'scale-amended';
const KINDS: OptimizerKind[] = ['momentum', 'scale-amended'];

function optimizer(kind: OptimizerKind, model: ReturnType<typeof paperVgg>) {
  const options = {
    learningRate: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
    blocks: model.blocks,
    checkFinite: false,
  };
  return kind === 'momentum' ? new MomentumSGD(options) : new ScaleAmendedSGD(options);
}

interface FirstStep {
  loss: number;
  /** By variable name. */
  grads: Values;
  /** The trainable variables after one step of each optimizer from `init` with `grads`. */
  weights: Record<OptimizerKind, Values>;
}

/**
 * On the current backend: the loss and gradients at `init`, then one step of each optimizer from `init`
 * with those gradients (one forward and backward pass serves both: the cpu's is the slow part).
 */
async function firstStep(): Promise<FirstStep> {
  const model = buildModel(init);
  const { x, y } = batch(input);
  const { value, grads } = tf.variableGrads(lossOf(model, x, y), [...model.trainableVariables]);
  const result: FirstStep = {
    loss: (await value.data())[0],
    grads: new Map(),
    weights: { momentum: new Map(), 'scale-amended': new Map() },
  };
  for (const [name, g] of Object.entries(grads)) result.grads.set(name, (await g.data()) as Float32Array);
  for (const kind of KINDS) {
    if (kind !== KINDS[0]) assignAll(model, init);
    const opt = optimizer(kind, model);
    opt.applyGradients(grads);
    for (const [name, v] of model.namedVariables()) {
      if (v.trainable) result.weights[kind].set(name, (await v.data()) as Float32Array);
    }
    opt.dispose();
  }
  tf.dispose([value, ...Object.values(grads), x, y]);
  model.dispose();
  return result;
}

let available = false;
let init: Values;
let input: { x: Float32Array; labels: Int32Array };

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  // Initial weights and the batch are made on the cpu and copied to webgpu as host arrays.
  const model = buildModel();
  init = await readVariables(model);
  model.dispose();
  const x = tf.randomNormal([BATCH, ...SHAPE], 0, 1, 'float32', 5);
  input = {
    x: (await x.data()) as Float32Array,
    labels: Int32Array.from({ length: BATCH }, (_, i) => i % CLASSES),
  };
  x.dispose();
  available = await webgpuOrSkip(() => initBackend({ prefer: 'webgpu' }), 'the WebGPU training tests');
}, 60_000);

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Runs `f` on the cpu backend, then back on webgpu. */
async function onCpu<T>(f: () => Promise<T>): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    await tf.setBackend('webgpu');
  }
}

// Each backend's first step, computed once and shared by the tests that compare them.
let steps: Promise<{ cpu: FirstStep; gpu: FirstStep }> | undefined;
function firstSteps() {
  steps ??= (async () => ({ cpu: await onCpu(firstStep), gpu: await firstStep() }))();
  return steps;
}

describe('paper VGG11 training step on webgpu', () => {
  it('every gradient matches the cpu backend', async ({ skip }) => {
    if (!available) skip();
    const { cpu, gpu } = await firstSteps();
    expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThan(1e-5 * Math.abs(cpu.loss));
    expect([...gpu.grads.keys()]).toEqual([...cpu.grads.keys()]);
    // Tolerance 1e-4 of the gradient's largest entry. Measured on llvmpipe: 1.5e-6 to 2.5e-6 per
    // variable with @bmp/backends' WGSL batch-norm kernels (1.6e-6 to 2.9e-6 with tfjs' composed batch
    // norm): float32 sums of up to 8192 terms in another order, through BN's backward, which subtracts
    // nearly equal means. 1e-4 leaves room for other GPUs' reduction orders and fused
    // multiply-adds; a wrong index, stride or missed term gives errors of order 1e-2 to 1.
    for (const [name, g] of cpu.grads) {
      const d = scaledMaxDiff(gpu.grads.get(name) as Float32Array, g);
      expect(d, name).toBeLessThan(1e-4);
    }
  });

  it.for(KINDS)('one %s step gives the cpu backend’s weights', async (kind, { skip }) => {
    if (!available) skip();
    const cpu = (await firstSteps()).cpu.weights[kind];
    const gpu = (await firstSteps()).gpu.weights[kind];
    // Compared on the update W' - W0, relative to its largest entry: the weights agree to far more
    // digits than the gradients, which would hide an error in the step. Rounding W' to float32 costs
    // up to one ulp of |W'| on each backend, which the update (lr * scale * g, small against W where
    // ScaleAmendedSGD's scale is) cannot resolve: that much is allowed on top.
    for (const [name, w] of cpu) {
      const w0 = init.get(name) as Float32Array;
      const g = gpu.get(name) as Float32Array;
      let diff = 0;
      let update = 0;
      let weight = 0;
      for (let i = 0; i < w.length; i++) {
        diff = Math.max(diff, Math.abs(g[i] - w[i]));
        update = Math.max(update, Math.abs(w[i] - w0[i]));
        weight = Math.max(weight, Math.abs(w[i]));
      }
      const ulp = 2 ** -23 * weight;
      // Measured on llvmpipe: at most 2.9e-6 of the update (as the gradients) or 0.4 ulp of |W|
      // where the update is 1e-3 of W (ScaleAmendedSGD on conv1).
      expect(diff, name).toBeLessThan(1e-4 * update + 2 * ulp);
    }
  });

  it('three ScaleAmendedSGD steps: no tensor and no GPU memory growth after the first', async ({ skip }) => {
    if (!available) skip();
    const model = buildModel(init);
    const opt = optimizer('scale-amended', model);
    const { x, y } = batch(input);
    const tensors: number[] = [];
    const bytes: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(lossOf(model, x, y), [...model.trainableVariables]);
      opt.applyGradients(grads);
      losses.push((await value.data())[0]);
      tf.dispose([value, ...Object.values(grads)]);
      const memory = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
      tensors.push(memory.numTensors);
      bytes.push(memory.numBytesInGPU);
    }
    // The first step creates the momentum buffers and ScaleAmendedSGD's norm cache; after it, nothing
    // grows (measured: 58 tensors and 1257080 bytes in GPU buffers after each of the 3 steps).
    expect(tensors[1]).toBe(tensors[0]);
    expect(tensors[2]).toBe(tensors[0]);
    expect(bytes[1]).toBeLessThanOrEqual(bytes[0]);
    expect(bytes[2]).toBeLessThanOrEqual(bytes[0]);
    expect(losses.every(Number.isFinite)).toBe(true);
    opt.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });

  it('runs on webgpu’s own kernels, none missing and none read back to the cpu', async ({ skip }) => {
    if (!available) skip();
    const model = buildModel(init);
    const opt = optimizer('momentum', model);
    const { x, y } = batch(input);
    const step = async () => {
      const { value, grads } = tf.variableGrads(lossOf(model, x, y), [...model.trainableVariables]);
      opt.applyGradients(grads);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    };
    await step(); // momentum buffers
    const profile = await tf.profile(step);
    // tf.profile also lists customGrad's scopes (BN's composite) by the name 'unnamed scope'.
    const used = new Set(profile.kernels.map((k) => k.name).filter((name) => name !== 'unnamed scope'));
    const registered = new Set(tf.getKernelsForBackend('webgpu').map((k) => k.kernelName));
    expect([...used].filter((name) => !registered.has(name))).toEqual([]);
    // Batch norm and the ReLU after it run as @bmp/backends' WGSL kernels (registered by initBackend), one
    // kernel each way, instead of tfjs' Mean, Relu and the rest of the composed ops.
    for (const name of [
      'Conv2D',
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'MaxPool',
      'MaxPoolGrad',
      'BmpBatchNormReluTraining',
      'BmpBatchNormReluTrainingGrad',
    ]) {
      expect(used, name).toContain(name);
    }
    // A kernel that falls back to the cpu reads its inputs with readSync, which throws in Node: the steps
    // above completing is the proof that none did.
    opt.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });
});
