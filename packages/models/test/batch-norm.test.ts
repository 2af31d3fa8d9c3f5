import { expectNoLeak, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlp, paperVgg } from '../src';
import { batchNormReluTraining, batchNormTraining } from '../src/batch-norm';

beforeAll(useCpuBackend);

const EPS = 1e-5;

describe('batch normalisation (PyTorch conventions)', () => {
  // mlp [2, 2, 1] with BN and the identity as first kernel: the BN input is x itself.
  //   column 0: 1, 3, 5 -> mean 3, biased var 8/3, unbiased var 4
  //   column 1: 2, 4, 9 -> mean 5, biased var 26/3, unbiased var 13
  const X = [
    [1, 2],
    [3, 4],
    [5, 9],
  ];
  function net() {
    const m = mlp({ sizes: [2, 2, 1], batchNorm: true, seed: 3 });
    m.namedVariables().get('dense1/kernel')!.assign(tf.eye(2));
    return m;
  }

  it('training mode normalises with the batch statistics (biased variance, eps 1e-5)', () => {
    const m = net();
    const out = tf.tidy(
      () => m.activations(tf.tensor2d(X), ['bn1'], { training: true, updateStatistics: false }).bn1,
    );
    const expected = X.map(([a, b]) => [(a - 3) / Math.sqrt(8 / 3 + EPS), (b - 5) / Math.sqrt(26 / 3 + EPS)]);
    const got = out.arraySync() as number[][];
    for (const [i, row] of got.entries()) {
      for (const [j, v] of row.entries()) expect(v).toBeCloseTo(expected[i][j], 5);
    }
    out.dispose();
    m.dispose();
  });

  it('one training pass sets running = 0.9 * initial + 0.1 * batch, with the unbiased variance', () => {
    const m = net();
    const vars = m.namedVariables();
    expect(Array.from(vars.get('bn1/running_mean')!.dataSync())).toEqual([0, 0]);
    expect(Array.from(vars.get('bn1/running_var')!.dataSync())).toEqual([1, 1]);
    tf.tidy(() => {
      m.apply(tf.tensor2d(X), { training: true });
    });
    const mean = Array.from(vars.get('bn1/running_mean')!.dataSync());
    const variance = Array.from(vars.get('bn1/running_var')!.dataSync());
    // 0.9 * 0 + 0.1 * [3, 5] and 0.9 * 1 + 0.1 * [4, 13]
    expect(mean[0]).toBeCloseTo(0.3, 6);
    expect(mean[1]).toBeCloseTo(0.5, 6);
    expect(variance[0]).toBeCloseTo(1.3, 6);
    expect(variance[1]).toBeCloseTo(2.2, 6);

    // evaluation mode uses the running statistics and changes nothing
    const evalOut = tf.tidy(() => m.activations(tf.tensor2d(X), ['bn1']).bn1);
    const got = evalOut.arraySync() as number[][];
    X.forEach(([a, b], i) => {
      expect(got[i][0]).toBeCloseTo((a - 0.3) / Math.sqrt(1.3 + EPS), 5);
      expect(got[i][1]).toBeCloseTo((b - 0.5) / Math.sqrt(2.2 + EPS), 5);
    });
    evalOut.dispose();
    expect(Array.from(vars.get('bn1/running_mean')!.dataSync())).toEqual(mean);

    // a second training pass compounds: 0.9 * 0.3 + 0.1 * 3
    tf.tidy(() => {
      m.apply(tf.tensor2d(X), { training: true });
    });
    expect(vars.get('bn1/running_mean')!.dataSync()[0]).toBeCloseTo(0.9 * 0.3 + 0.3, 6);
    m.dispose();
  });

  it('updateStatistics: false leaves the running statistics alone; batch 1 in training is an error', () => {
    const m = net();
    tf.tidy(() => {
      m.apply(tf.tensor2d(X), { training: true, updateStatistics: false });
    });
    expect(Array.from(m.namedVariables().get('bn1/running_mean')!.dataSync())).toEqual([0, 0]);
    expect(() => m.apply(tf.tensor2d([[1, 2]]), { training: true })).toThrow(/more than 1 value per channel/);
    m.dispose();
  });

  it('conv BN: per-channel output mean 0 and variance 1 in training; running stats from the conv output', () => {
    const m = paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, seed: 2 });
    const x = tf.randomNormal([4, 32, 32, 3], 0.5, 2, 'float32', 11);
    // conv1 output of the same weights, computed before the step (the conv itself has no state)
    const conv1 = tf.tidy(() => m.activations(x, ['conv1']).conv1);
    const c = conv1.shape[3] as number;
    const z = conv1.dataSync();
    const n = z.length / c;
    const bn = tf.tidy(() => m.activations(x, ['bn1'], { training: true }).bn1);
    const y = bn.dataSync();
    const vars = m.namedVariables();
    const rm = vars.get('bn1/running_mean')!.dataSync();
    const rv = vars.get('bn1/running_var')!.dataSync();
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      let ys = 0;
      for (let i = ch; i < z.length; i += c) {
        s += z[i];
        ys += y[i];
      }
      const mean = s / n;
      let ss = 0;
      let yss = 0;
      for (let i = ch; i < z.length; i += c) {
        ss += (z[i] - mean) ** 2;
        yss += (y[i] - ys / n) ** 2;
      }
      expect(Math.abs(ys / n)).toBeLessThan(1e-5);
      expect(yss / n).toBeCloseTo(1, 3);
      expect(rm[ch]).toBeCloseTo(0.1 * mean, 5);
      expect(Math.abs(rv[ch] - (0.9 + (0.1 * ss) / (n - 1))) / rv[ch]).toBeLessThan(1e-5);
    }
    tf.dispose([x, conv1, bn]);
    m.dispose();
  });

  it('apply allocates nothing that outlives it, in either mode', async () => {
    const m = paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625 });
    const x = tf.randomNormal([2, 32, 32, 3]);
    await expectNoLeak(() => {
      m.apply(x, { training: true }).dispose();
      m.apply(x).dispose();
    }, 'apply');
    x.dispose();
    m.dispose();
  });
});

// The training-mode BN ops (src/batch-norm.ts; on cpu, which has no BN kernel, their tfjs-op fallback with a
// hand-written gradient) against tfjs' autodiff of the composed ops (an independent derivation), on the same
// input: values, gradients, and second derivatives (a Hessian-vector product, grad of grad), which the
// hand-written gradient must get right too. Tolerance: max |a - b| / max |b| <= 1e-4 (first derivatives) and
// 1e-3 (second), float32 with a different summation order.
describe('training-mode batch norm: gradient and second derivatives', () => {
  function scaled(a: ArrayLike<number>, b: ArrayLike<number>): number {
    let d = 0;
    let s = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      s = Math.max(s, Math.abs(b[i]));
    }
    return d / Math.max(s, 1e-30);
  }
  const composed = (x: tf.Tensor, relu: boolean) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS)));
    return relu ? tf.relu(xhat) : xhat;
  };
  const op = (x: tf.Tensor, relu: boolean) =>
    (relu ? batchNormReluTraining(x, EPS) : batchNormTraining(x, EPS)).out;

  for (const relu of [false, true]) {
    it(`${relu ? 'batchNormReluTraining' : 'batchNormTraining'}: values, gradient and Hessian-vector product`, async () => {
      const x = tf.randomNormal([3, 4, 4, 5], 0.5, 2, 'float32', 11);
      const c = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 12);
      const v = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 13);
      // A loss with non-zero second derivatives through the normalisation itself.
      const loss = (bn: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor) => {
        const y = bn(x);
        return tf.sum(tf.mul(c, tf.mul(y, tf.add(y, 1)))) as tf.Scalar;
      };
      const derivatives = (bn: (x: tf.Tensor) => tf.Tensor) =>
        tf.tidy(() => {
          const value = bn(x).dataSync();
          const gradient = tf.grad(loss(bn))(x).dataSync();
          const hvp = tf
            .grad((y: tf.Tensor) => tf.sum(tf.mul(tf.grad(loss(bn))(y), v)))(x)
            .dataSync();
          return { value, gradient, hvp };
        });
      const got = await expectNoLeak(() => derivatives((t) => op(t, relu)), 'BN op derivatives');
      const want = derivatives((t) => composed(t, relu));
      expect(scaled(got.value, want.value)).toBeLessThanOrEqual(1e-6);
      expect(scaled(got.gradient, want.gradient)).toBeLessThanOrEqual(1e-4);
      expect(scaled(got.hvp, want.hvp)).toBeLessThanOrEqual(1e-3);
      tf.dispose([x, c, v]);
    });
  }

  it('a model in training mode: a gradient for every weight (paper VGG11)', () => {
    const m = paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, seed: 5 });
    const x = tf.randomNormal([4, ...m.inputShape], 0, 1, 'float32', 7);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 10);
    const vars = [...m.trainableVariables];
    const { value, grads } = tf.variableGrads(() => {
      const logits = m.apply(x, { training: true, updateStatistics: false });
      return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1))) as tf.Scalar;
    }, vars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(vars.every((v) => grads[v.name] != null)).toBe(true);
    tf.dispose([value, x, labels, ...Object.values(grads)]);
    m.dispose();
  });
});
