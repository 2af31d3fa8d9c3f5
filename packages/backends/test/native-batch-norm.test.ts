// BmpBatchNormTraining / BmpBatchNormTrainingGrad on wasm (registered with the native kernels) against the
// composed tfjs ops on the cpu backend (tf.moments, rsqrt, sub, mul and their autodiff: an independent
// implementation), and @bmp/models' batch norm in training mode, which runs the kernel when the backend has it.
// Tolerance: max |wasm - cpu| / max |cpu| <= 1e-5 for one layer (float32, channel sums in another order),
// 1e-4 for a whole VGG's gradients; second derivatives (Hessian-vector products, through the gradients
// registered for the ...Grad kernels): 1e-4 for one layer, 1e-3 for a whole VGG.
// Without the addon built these tests are skipped (reason printed) unless BMP_REQUIRE_NATIVE=1.
import { BATCH_NORM_RELU_TRAINING_KERNEL, BATCH_NORM_TRAINING_KERNEL, mlp, paperVgg } from '@bmp/models';
import { expectNoLeak, randomArray, tf } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { BATCH_NORM_RELU_TRAINING, BATCH_NORM_TRAINING, initBackend } from '../src';
import { loadNative } from '../src/internals';
import { scaledError } from './helpers';

const REQUIRED = process.env.BMP_REQUIRE_NATIVE === '1';
const probe = await loadNative();
if (probe.kernels == null) {
  console.warn(
    `[@bmp/backends native-batch-norm tests] ${REQUIRED ? 'FAILING' : 'skipped'}: ${probe.reason}`,
  );
}
const describeNative = probe.kernels != null || REQUIRED ? describe : describe.skip;

const EPS = 1e-3;

const OUTPUTS = ['xhat', 'mean', 'variance', 'rstd'] as const;
type Output = (typeof OUTPUTS)[number];

/** A loss of the outputs named in `uses` (default all), so that the gradient flows through them. */
function lossOf(
  xhat: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  rstd: tf.Tensor,
  uses: readonly Output[] = OUTPUTS,
): tf.Scalar {
  const terms = {
    xhat: () => tf.sum(tf.mul(xhat, tf.sin(xhat))),
    mean: () => tf.sum(tf.mul(mean, 3)),
    variance: () => tf.sum(tf.mul(variance, 0.5)),
    rstd: () => tf.sum(tf.mul(rstd, 2)),
  };
  const parts = uses.map((u) => terms[u]());
  return (parts.length === 1 ? parts[0]! : tf.addN(parts)) as tf.Scalar;
}

function composed(x: tf.Tensor) {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const rstd = tf.rsqrt(tf.add(variance, EPS));
  return { xhat: tf.mul(tf.sub(x, mean), rstd), mean, variance, rstd };
}

function viaKernel(x: tf.Tensor) {
  const [xhat, mean, variance, rstd] = tf
    .engine()
    .runKernel(BATCH_NORM_TRAINING, { x }, { epsilon: EPS }) as tf.Tensor[];
  return { xhat: xhat!, mean: mean!, variance: variance!, rstd: rstd! };
}

describeNative('BmpBatchNormTraining on wasm', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu', trainingKernels: false });
    const wasm = await initBackend({ prefer: 'wasm' });
    expect(wasm.native, wasm.nativeNote).toBeDefined();
  });

  it('is the kernel name @bmp/models looks for, and is registered on wasm only', () => {
    expect(BATCH_NORM_TRAINING).toBe(BATCH_NORM_TRAINING_KERNEL);
    expect(BATCH_NORM_RELU_TRAINING).toBe(BATCH_NORM_RELU_TRAINING_KERNEL);
    expect(tf.getKernel(BATCH_NORM_RELU_TRAINING, 'wasm')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'wasm')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'cpu')).toBeUndefined();
  });

  it.each([[[4, 5, 5, 8]], [[64, 8, 8, 16]], [[3, 7]], [[2, 3, 3, 5]]])(
    '%j: outputs and the gradient through all of them match the composed ops on cpu',
    async (shape) => {
      const values = randomArray(
        shape.reduce((a, b) => a * b, 1),
        shape.length * 7 + shape[0]!,
        2,
      );
      const run = async (backend: 'cpu' | 'wasm', f: typeof composed) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const x = tf.tensor(values, shape).add(1); // offset: the mean is not ~0
          const o = f(x);
          const g = tf.grad((v: tf.Tensor) => {
            const p = f(v);
            return lossOf(p.xhat, p.mean, p.variance, p.rstd);
          })(x);
          return [o.xhat, o.mean, o.variance, o.rstd, g].map((t) => t.dataSync() as Float32Array);
        });
      };
      const want = await run('cpu', composed);
      const got = await run('wasm', viaKernel);
      ['xhat', 'mean', 'variance', 'rstd', 'dx'].forEach((name, i) => {
        expect(scaledError(got[i]!, want[i]!), name).toBeLessThanOrEqual(1e-5);
      });
    },
  );

  // tfjs passes zeros for the outputs left out of the loss; each statistic's term must still be right alone.
  it.each(OUTPUTS.map((o) => [o]))(
    'gradient through %s alone matches the composed ops on cpu',
    async (only) => {
      const shape = [6, 3, 3, 4];
      const values = randomArray(6 * 3 * 3 * 4, 41, 2);
      const run = async (backend: 'cpu' | 'wasm', f: typeof composed) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const g = tf.grad((v: tf.Tensor) => {
            const p = f(v);
            return lossOf(p.xhat, p.mean, p.variance, p.rstd, [only]);
          })(tf.tensor(values, shape).add(1));
          return g.dataSync() as Float32Array;
        });
      };
      const want = await run('cpu', composed);
      const got = await run('wasm', viaKernel);
      expect(scaledError(got, want)).toBeLessThanOrEqual(1e-5);
    },
  );

  it('a loss of xhat only: the gradient is one kernel, with no passes for the zero statistics gradients', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomArray(4 * 5 * 5 * 8, 43), [4, 5, 5, 8]);
    const c = tf.tensor(randomArray(4 * 5 * 5 * 8, 44), [4, 5, 5, 8]);
    const f = (v: tf.Tensor) => tf.sum(tf.mul(viaKernel(v).xhat, c)) as tf.Scalar;
    const profile = await tf.profile(() => void tf.tidy(() => tf.grad(f)(x)));
    const names = profile.kernels.map((k) => k.name);
    expect(names).toContain('BmpBatchNormTrainingGrad');
    expect(names).not.toContain('Add'); // the composed statistics terms were two Adds and a Multiply
    tf.dispose([x, c]);
  });

  // Second derivatives: the gradient of the loss, dotted with v, differentiated again (a Hessian-vector
  // product), through BmpBatchNormTrainingGrad's registered gradient, with every statistic in the loss.
  it.each([[OUTPUTS], [['xhat'] as const]])(
    'Hessian-vector product through %j matches the composed ops on cpu (1e-4)',
    async (uses) => {
      const shape = [6, 3, 3, 4];
      const values = randomArray(6 * 3 * 3 * 4, 53, 2);
      const direction = randomArray(6 * 3 * 3 * 4, 54);
      const run = async (backend: 'cpu' | 'wasm', f: typeof composed) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const v = tf.tensor(direction, shape);
          const loss = (t: tf.Tensor) => {
            const p = f(t);
            return lossOf(p.xhat, p.mean, p.variance, p.rstd, uses);
          };
          const hvp = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.grad(loss)(t), v)))(
            tf.tensor(values, shape).add(1),
          );
          return hvp.dataSync() as Float32Array;
        });
      };
      const want = await run('cpu', composed);
      const got = await run('wasm', viaKernel);
      expect(scaledError(got, want)).toBeLessThanOrEqual(1e-4);
    },
  );

  // A whole model: an MLP with batch norm before each ReLU (fused on wasm). tfjs has no gradient for
  // MaxPoolGrad or Conv2DBackpropFilter on any backend, so a conv VGG's Hessian-vector products cannot be
  // taken in tfjs; the BN kernels' part of them is the same as here.
  it('an MLP with batch norm: a Hessian-vector product on wasm (fused kernels) matches cpu (1e-3), no tensors leak', async () => {
    const model = mlp({ sizes: [12, 16, 16, 4], batchNorm: true, seed: 4 });
    const x = tf.tensor2d(randomArray(8 * 12, 19), [8, 12]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
    const variables = [...model.trainableVariables];
    const directions = variables.map((w, i) => randomArray(w.size, 60 + i));
    // H v = d/dw (dL/dw . v), v a fixed random direction over every weight.
    const hvp = () =>
      tf.tidy(() => {
        const v = variables.map((w, i) => tf.tensor(directions[i]!, w.shape));
        const { grads } = tf.variableGrads(() => {
          const { grads: g } = tf.variableGrads(
            () =>
              tf.losses.softmaxCrossEntropy(
                labels,
                model.apply(x, { training: true, updateStatistics: false }),
              ) as tf.Scalar,
            variables,
          );
          return tf.addN(variables.map((w, i) => tf.sum(tf.mul(g[w.name]!, v[i]!)))) as tf.Scalar;
        }, variables);
        return variables.map((w) => grads[w.name]!.dataSync() as Float32Array);
      });
    await tf.setBackend('cpu');
    const want = hvp();
    await tf.setBackend('wasm');
    const profile = await tf.profile(() => void hvp());
    expect(profile.kernelNames).toContain(BATCH_NORM_RELU_TRAINING);
    expect(profile.kernelNames).toContain('BmpBatchNormReluTrainingGrad');
    const got = await expectNoLeak(hvp, 'Hessian-vector product');
    for (const [i, h] of got.entries())
      expect(scaledError(h, want[i]!), variables[i]!.name).toBeLessThanOrEqual(1e-3);
    tf.dispose([x, labels]);
    model.dispose();
  });

  it('paper VGG11 in training mode: the kernel runs, gradients match cpu (1e-4), no tensors leak', async () => {
    const model = paperVgg({
      depth: 11,
      widthMultiplier: 0.125,
      numClasses: 4,
      inputShape: [16, 16, 3],
      seed: 3,
    });
    const xValues = randomArray(8 * 16 * 16 * 3, 9);
    const x = tf.tensor4d(xValues, [8, 16, 16, 3]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
    const loss = () =>
      tf.losses.softmaxCrossEntropy(
        labels,
        model.apply(x, { training: true, updateStatistics: false }),
      ) as tf.Scalar;
    // On the current backend (the variables and inputs move between backends as needed).
    const gradients = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(loss, [...model.trainableVariables]);
        return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array]));
      });
    await tf.setBackend('cpu');
    const want = gradients();
    await tf.setBackend('wasm');
    const profile = await tf.profile(() => void gradients());
    // Every BN of the paper VGG feeds a ReLU: batch norm and ReLU run as one kernel each way.
    expect(profile.kernelNames).toContain(BATCH_NORM_RELU_TRAINING);
    expect(profile.kernelNames).toContain('BmpBatchNormReluTrainingGrad');
    expect(profile.kernelNames).not.toContain('Relu');
    expect(profile.kernelNames).not.toContain(BATCH_NORM_TRAINING);
    const got = gradients();
    for (const [name, g] of Object.entries(got))
      expect(scaledError(g, want[name]!), name).toBeLessThanOrEqual(1e-4);
    await expectNoLeak(gradients, 'fused gradient');
    tf.dispose([x, labels]);
    model.dispose();
  });
});

// BmpBatchNormReluTraining: batch norm then ReLU as one kernel each way. On wasm it must give the bits of
// BmpBatchNormTraining followed by tf.relu (values and gradients: the native passes do the same float32
// operations), and, like that pair, agree with the composed ops on the cpu backend (1e-5).
describeNative('BmpBatchNormReluTraining on wasm', () => {
  function fusedRelu(x: tf.Tensor) {
    const [y, mean, variance, rstd] = tf
      .engine()
      .runKernel(BATCH_NORM_RELU_TRAINING, { x }, { epsilon: EPS }) as tf.Tensor[];
    return { y: y!, mean: mean!, variance: variance!, rstd: rstd! };
  }
  function separate(x: tf.Tensor) {
    const p = viaKernel(x);
    return { ...p, y: tf.relu(p.xhat) };
  }
  function composedRelu(x: tf.Tensor) {
    const p = composed(x);
    return { ...p, y: tf.relu(p.xhat) };
  }
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

  /** Outputs and gradients of a loss of y (and of the statistics, when asked). */
  async function run(
    backend: 'cpu' | 'wasm',
    f: typeof separate,
    values: Float32Array,
    shape: number[],
    uses: string[],
  ) {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor(values, shape).add(1);
      const w = tf.tensor(randomArray(values.length, 17), shape);
      const loss = (v: tf.Tensor) => {
        const p = f(v);
        const terms = [tf.sum(tf.mul(p.y, w))];
        if (uses.includes('stats')) terms.push(tf.sum(tf.mul(p.mean, 3)), tf.sum(p.variance), tf.sum(p.rstd));
        return tf.addN(terms) as tf.Scalar;
      };
      const o = f(x);
      return [o.y, o.mean, o.variance, o.rstd, tf.grad(loss)(x)].map((t) => t.dataSync() as Float32Array);
    });
  }

  it.each([[[64, 8, 8, 16]], [[4, 5, 5, 8]], [[3, 7]]])(
    '%j: the bits of BmpBatchNormTraining + relu',
    async (shape) => {
      const values = randomArray(
        shape.reduce((a, b) => a * b, 1),
        5 + shape[0]!,
        2,
      );
      for (const uses of [[], ['stats']]) {
        const want = await run('wasm', separate, values, shape, uses);
        const got = await run('wasm', fusedRelu as unknown as typeof separate, values, shape, uses);
        ['y', 'mean', 'variance', 'rstd', 'dx'].forEach((name, i) => {
          expect(bits(got[i]!), `${name} ${uses}`).toEqual(bits(want[i]!));
        });
      }
    },
  );

  it('the gradient through y and the statistics matches the composed ops on cpu (1e-5)', async () => {
    const shape = [6, 3, 3, 4];
    const values = randomArray(6 * 3 * 3 * 4, 47, 2);
    for (const uses of [[], ['stats']]) {
      const want = await run('cpu', composedRelu, values, shape, uses);
      const got = await run('wasm', fusedRelu as unknown as typeof separate, values, shape, uses);
      expect(scaledError(got[4]!, want[4]!), `dx ${uses}`).toBeLessThanOrEqual(1e-5);
      expect(scaledError(got[0]!, want[0]!), 'y').toBeLessThanOrEqual(1e-5);
    }
  });

  it('a Hessian-vector product through y and the statistics matches the composed ops on cpu (1e-4)', async () => {
    const shape = [6, 3, 3, 4];
    const values = randomArray(6 * 3 * 3 * 4, 57, 2);
    const direction = randomArray(6 * 3 * 3 * 4, 58);
    const weights = randomArray(6 * 3 * 3 * 4, 59);
    for (const stats of [false, true]) {
      const hvp = async (backend: 'cpu' | 'wasm', f: typeof separate) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const [v, w] = [tf.tensor(direction, shape), tf.tensor(weights, shape)];
          const loss = (t: tf.Tensor) => {
            const p = f(t);
            const terms = [tf.sum(tf.mul(tf.square(p.y), w))];
            if (stats) terms.push(tf.sum(tf.square(p.mean)), tf.sum(tf.mul(p.variance, p.rstd)));
            return tf.addN(terms) as tf.Scalar;
          };
          const h = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.grad(loss)(t), v)))(
            tf.tensor(values, shape).add(1),
          );
          return h.dataSync() as Float32Array;
        });
      };
      const want = await hvp('cpu', composedRelu);
      const got = await hvp('wasm', fusedRelu as unknown as typeof separate);
      expect(scaledError(got, want), `stats ${stats}`).toBeLessThanOrEqual(1e-4);
    }
  });
});
