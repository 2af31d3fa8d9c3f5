// The batch-norm kernels of @bmp/hessian/kernels on webgpu (WGSL programs, registered by initBackend) against
// the composed tfjs ops on the cpu backend (tf.moments, rsqrt, sub, mul, relu and their autodiff: an
// independent implementation): the four outputs, the gradient through every output and through each alone,
// a Hessian-vector product (second derivatives through the ...Grad kernels' registered gradients), and
// @bmp/models' paper VGG11 in training mode, whose batch norm runs the kernels.
//
// Tolerance: max |webgpu - cpu| / max |cpu| per tensor (float32 sums in another order: a tree of per-thread
// partial sums on the GPU, one running sum on the cpu). Measured on llvmpipe: see each assertion. A wrong
// index, channel stride or missing term gives errors of order 1e-2 to 1.
//
// In Node, tfjs-backend-webgpu reads GPU tensors only with `await data()`: values are read after each tidy.
import { BATCH_NORM_RELU_TRAINING_KERNEL, BATCH_NORM_TRAINING_KERNEL, paperVgg } from '@bmp/models';
import { randomArray, tf, webgpuOrSkip } from '@bmp/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_NORM_RELU_TRAINING,
  BATCH_NORM_RELU_TRAINING_GRAD,
  BATCH_NORM_TRAINING,
  BATCH_NORM_TRAINING_GRAD,
  initBackend,
} from '../src';
import { scaledError } from './helpers';

const EPS = 1e-3;
// Measured on llvmpipe (Mesa 25), largest over the cases below: outputs 1.3e-7 (rstd 6e-8), gradients 6.4e-7
// (through every output; 3.6e-7 through one), Hessian-vector products 2.0e-7. 1e-5 leaves room for other
// GPUs' reduction orders and fused multiply-adds.
const TOLERANCE = 1e-5;
const HVP_TOLERANCE = 1e-5;

let available = false;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  available = await webgpuOrSkip(async () => {
    const result = await initBackend({ prefer: 'webgpu' });
    expect(result.trainingKernels).toContain('webgpu:BmpBatchNormTraining');
  }, 'the WebGPU batch-norm kernel tests');
}, 60_000);

afterAll(async () => {
  await tf.setBackend('cpu');
});

type Backend = 'cpu' | 'webgpu';
type Outputs = { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor; rstd: tf.Tensor };
type Impl = (x: tf.Tensor) => Outputs;

function composed(relu: boolean): Impl {
  return (x) => {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const rstd = tf.rsqrt(tf.add(variance, EPS));
    const xhat = tf.mul(tf.sub(x, mean), rstd);
    return { y: relu ? tf.relu(xhat) : xhat, mean, variance, rstd };
  };
}

function viaKernel(relu: boolean): Impl {
  return (x) => {
    const [y, mean, variance, rstd] = tf
      .engine()
      .runKernel(
        relu ? BATCH_NORM_RELU_TRAINING : BATCH_NORM_TRAINING,
        { x },
        { epsilon: EPS },
      ) as tf.Tensor[];
    return { y: y!, mean: mean!, variance: variance!, rstd: rstd! };
  };
}

const OUTPUTS = ['y', 'mean', 'variance', 'rstd'] as const;
type Output = (typeof OUTPUTS)[number];

/** A loss of the outputs in `uses`, with a weight w on y (so that dy is not uniform). */
function lossOf(p: Outputs, w: tf.Tensor, uses: readonly Output[]): tf.Scalar {
  const terms = {
    y: () => tf.sum(tf.mul(p.y, w)),
    mean: () => tf.sum(tf.mul(p.mean, 3)),
    variance: () => tf.sum(tf.mul(p.variance, 0.5)),
    rstd: () => tf.sum(tf.mul(p.rstd, 2)),
  };
  const parts = uses.map((u) => terms[u]());
  return (parts.length === 1 ? parts[0]! : tf.addN(parts)) as tf.Scalar;
}

/** Runs `make` in a tidy on `backend`, then reads every tensor it returned (await data(): webgpu in Node). */
async function read(backend: Backend, make: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const tensors = tf.tidy(make);
  try {
    return await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tf.dispose(tensors);
  }
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The outputs and the gradient of the loss of `uses` with respect to x. */
function outputsAndGradient(
  f: Impl,
  values: Float32Array,
  weights: Float32Array,
  shape: number[],
  uses: readonly Output[],
) {
  return () => {
    const x = tf.tensor(values, shape).add(1); // offset: the mean is not ~0
    const w = tf.tensor(weights, shape);
    const o = f(x);
    const dx = tf.grad((v: tf.Tensor) => lossOf(f(v), w, uses))(x);
    return [o.y, o.mean, o.variance, o.rstd, dx];
  };
}

// Channels not a multiple of the workgroup's 16 channel lanes (5, 7, 33), one value per channel (N*H*W = 1:
// variance 0), a single channel, and a large-ish N*H*W (8x16x16 = 2048 rows per channel).
const SHAPES: number[][] = [
  [4, 5, 5, 8],
  [2, 4, 4, 33],
  [1, 1, 1, 5],
  [8, 16, 16, 8],
  [3, 7],
  [6, 3, 3, 1],
  [16],
];

describe.each([false, true])('webgpu batch norm (relu %s)', (relu) => {
  const kernel = relu ? BATCH_NORM_RELU_TRAINING : BATCH_NORM_TRAINING;

  it('is registered on webgpu under the name @bmp/models looks for', ({ skip }) => {
    if (!available) skip();
    expect(BATCH_NORM_TRAINING).toBe(BATCH_NORM_TRAINING_KERNEL);
    expect(BATCH_NORM_RELU_TRAINING).toBe(BATCH_NORM_RELU_TRAINING_KERNEL);
    expect(tf.getKernel(kernel, 'webgpu')).toBeDefined();
    expect(
      tf.getKernel(relu ? BATCH_NORM_RELU_TRAINING_GRAD : BATCH_NORM_TRAINING_GRAD, 'webgpu'),
    ).toBeDefined();
  });

  it.for(SHAPES.map((shape) => ({ shape })))(
    '$shape: outputs and the gradient through all of them match the composed ops on cpu',
    async ({ shape }, { skip }) => {
      if (!available) skip();
      const values = randomArray(size(shape), shape.length * 7 + shape[0]!, 2);
      const weights = randomArray(size(shape), 31 + shape[0]!);
      const want = await read('cpu', outputsAndGradient(composed(relu), values, weights, shape, OUTPUTS));
      const before = tf.memory().numTensors;
      const got = await read('webgpu', outputsAndGradient(viaKernel(relu), values, weights, shape, OUTPUTS));
      expect(tf.memory().numTensors).toBe(before);
      ['y', 'mean', 'variance', 'rstd', 'dx'].forEach((name, i) => {
        expect(scaledError(got[i]!, want[i]!), `${name}`).toBeLessThanOrEqual(TOLERANCE);
      });
    },
  );

  // tfjs passes zeros for the outputs left out of the loss; each statistic's term must be right alone.
  it.for(OUTPUTS)('gradient through %s alone matches the composed ops on cpu', async (only, { skip }) => {
    if (!available) skip();
    const shape = [6, 3, 3, 20];
    const values = randomArray(size(shape), 41, 2);
    const weights = randomArray(size(shape), 42);
    const want = await read('cpu', outputsAndGradient(composed(relu), values, weights, shape, [only]));
    const got = await read('webgpu', outputsAndGradient(viaKernel(relu), values, weights, shape, [only]));
    expect(scaledError(got[4]!, want[4]!)).toBeLessThanOrEqual(TOLERANCE);
  });

  // A NaN in the input: its channel's statistics, outputs and gradient are NaN, as on cpu (ReLU keeps NaN:
  // a diverged step must reach the loss), and the other channels are unaffected.
  it('a NaN stays in its channel, as on cpu', async ({ skip }) => {
    if (!available) skip();
    const shape = [4, 3, 3, 6];
    const values = randomArray(size(shape), 61, 2);
    values[2] = Number.NaN; // channel 2
    const weights = randomArray(size(shape), 62);
    const want = await read('cpu', outputsAndGradient(composed(relu), values, weights, shape, OUTPUTS));
    const got = await read('webgpu', outputsAndGradient(viaKernel(relu), values, weights, shape, OUTPUTS));
    ['y', 'mean', 'variance', 'rstd', 'dx'].forEach((name, i) => {
      const nan = (a: Float32Array) => Array.from(a, Number.isNaN);
      expect(nan(got[i]!), name).toEqual(nan(want[i]!));
      expect(nan(got[i]!).some(Boolean), name).toBe(true);
      const finite = (a: Float32Array) => a.filter((v) => !Number.isNaN(v));
      expect(scaledError(finite(got[i]!), finite(want[i]!)), name).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  // Second derivatives: the gradient of the loss dotted with v, differentiated again, through the ...Grad
  // kernels' registered gradients (tfjs ops) and the forward kernel re-run on the tape.
  it('a Hessian-vector product through every output matches the composed ops on cpu', async ({ skip }) => {
    if (!available) skip();
    const shape = [6, 3, 3, 4];
    const values = randomArray(size(shape), 53, 2);
    const direction = randomArray(size(shape), 54);
    const weights = randomArray(size(shape), 55);
    const hvp = (f: Impl) => () => {
      const [v, w] = [tf.tensor(direction, shape), tf.tensor(weights, shape)];
      const loss = (t: tf.Tensor) => {
        const p = f(t);
        return tf.addN([
          tf.sum(tf.mul(tf.square(p.y), w)),
          tf.sum(tf.square(p.mean)),
          tf.sum(tf.mul(p.variance, p.rstd)),
        ]) as tf.Scalar;
      };
      return [
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.grad(loss)(t), v)))(tf.tensor(values, shape).add(1)),
      ];
    };
    const [want] = await read('cpu', hvp(composed(relu)));
    const [got] = await read('webgpu', hvp(viaKernel(relu)));
    expect(scaledError(got!, want!)).toBeLessThanOrEqual(HVP_TOLERANCE);
  });
});

describe('paper VGG11 on webgpu with the batch-norm kernels', () => {
  it('runs the fused kernels each way; gradients match cpu (1e-4); no tensors leak', async ({ skip }) => {
    if (!available) skip();
    const model = paperVgg({
      depth: 11,
      widthMultiplier: 0.125,
      numClasses: 4,
      inputShape: [16, 16, 3],
      seed: 3,
    });
    const xValues = randomArray(8 * 16 * 16 * 3, 9);
    const names = model.trainableVariables.map((v) => v.name);
    const gradients = () => {
      const x = tf.tensor4d(xValues, [8, 16, 16, 3]);
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
      // Mean softmax cross-entropy (tf.losses' version trips tfjs' kernel leak check under IS_TEST on cpu).
      const loss = () => {
        const logits = model.apply(x, { training: true, updateStatistics: false });
        const logProbs = tf.sub(logits, tf.logSumExp(logits, 1, true));
        return tf.neg(tf.mean(tf.sum(tf.mul(labels, logProbs), 1))) as tf.Scalar;
      };
      const { grads } = tf.variableGrads(loss, [...model.trainableVariables]);
      return names.map((n) => grads[n]!);
    };
    const want = await read('cpu', gradients);
    await tf.setBackend('webgpu');
    const profile = await tf.profile(async () => {
      await read('webgpu', gradients);
    });
    // Every BN of the paper VGG feeds a ReLU: batch norm and ReLU run as one kernel each way.
    expect(profile.kernelNames).toContain(BATCH_NORM_RELU_TRAINING);
    expect(profile.kernelNames).toContain(BATCH_NORM_RELU_TRAINING_GRAD);
    expect(profile.kernelNames).not.toContain('Relu');
    const before = tf.memory().numTensors;
    const got = await read('webgpu', gradients);
    expect(tf.memory().numTensors).toBe(before);
    // Measured on llvmpipe: 1.3e-6 to 5.8e-6 per variable (float32 sums of up to 2048 terms in another order
    // through 8 batch norms and 8 convolutions); the tolerance of webgpu-training.test.ts.
    for (const [i, g] of got.entries()) {
      expect(scaledError(g, want[i]!), names[i]).toBeLessThanOrEqual(1e-4);
    }
    model.dispose();
  });
});
