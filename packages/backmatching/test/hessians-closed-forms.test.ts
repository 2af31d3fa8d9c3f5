import type { ExplicitMatrix } from '@bmp/spectra';
import { expectNoLeak, randomArray, tf, useCpuBackend } from '@bmp/test-utils';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { chainBlock } from '../src/backmatching/chain';
import { jacobian } from '../src/backmatching/jacobian';
import {
  convBnHW,
  convBnHz,
  convHW,
  convHz,
  denseBnHW,
  denseBnHz,
  denseBnHzPerSample,
  denseHW,
  denseHz,
  denseHzPerSample,
  residualGaussNewtonZ,
} from '../src/hessians/closed-forms';
import { localHessianMatrix, localHessianOperator } from '../src/hessians/local-hessian';

beforeAll(useCpuBackend);

const EPS = 1e-5;

function maxAbsDiff(a: ExplicitMatrix, b: ExplicitMatrix): number {
  expect(a.dim).toBe(b.dim);
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
  return d;
}
function maxAbs(a: ExplicitMatrix): number {
  return a.data.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
}
function trace(a: ExplicitMatrix): number {
  let t = 0;
  for (let i = 0; i < a.dim; i++) t += a.data[i * a.dim + i];
  return t;
}
function eigenvalues(a: ExplicitMatrix): number[] {
  const m = new Matrix(a.dim, a.dim);
  for (let i = 0; i < a.dim; i++)
    for (let j = 0; j < a.dim; j++) m.set(i, j, 0.5 * (a.data[i * a.dim + j] + a.data[j * a.dim + i]));
  return new EigenvalueDecomposition(m, { assumeSymmetric: true }).realEigenvalues.sort((x, y) => x - y);
}
function variable(values: Float32Array, shape: number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
}

describe('local Hessians: closed forms (eq. 8, 9, 17, 18, 13) against automatic differentiation', () => {
  const m = 6;
  const nIn = 4;
  const nOut = 3;

  it('dense block: eq. 8 and 9 are exact (float32 tolerance 1e-5 relative)', () => {
    const w = variable(randomArray(nIn * nOut, 1), [nIn, nOut]);
    const z = tf.tensor(randomArray(m * nIn, 2), [m, nIn]);
    const block = chainBlock({ weights: [w], ops: [{ op: 'dense', weight: 0 }], inputShape: [nIn] });
    const before = tf.memory().numTensors;
    const hz = localHessianMatrix({ block, z, wrt: 'z' });
    const hw = localHessianMatrix({ block, z, wrt: 'W' });
    expect(tf.memory().numTensors).toBe(before);
    const cz = denseHz(w.dataSync(), nIn, nOut, m);
    const cw = denseHW(z.dataSync(), m, nIn, nOut);
    expect(maxAbsDiff(hz, cz)).toBeLessThan(1e-5 * maxAbs(cz));
    expect(maxAbsDiff(hw, cw)).toBeLessThan(1e-5 * maxAbs(cw));
    // with a non-zero residual the dense Hessian is unchanged (F is linear in each variable)
    const target = tf.tensor(randomArray(m * nOut, 3), [m, nOut]);
    const hz2 = localHessianMatrix({ block, z, wrt: 'z', objective: { target } });
    expect(maxAbsDiff(hz2, cz)).toBeLessThan(1e-5 * maxAbs(cz));
    tf.dispose([w, z, target]);
  });

  it('dense + BN: exact H (autodiff) vs eq. 17/18 differ by the dropped 1/m terms; GN = exact at zero residual', () => {
    const mm = 64;
    const w = variable(randomArray(nIn * nOut, 4), [nIn, nOut]);
    const z = tf.tensor(randomArray(mm * nIn, 5, 1.7), [mm, nIn]);
    const block = chainBlock({
      weights: [w],
      ops: [
        { op: 'dense', weight: 0 },
        { op: 'batchNorm', epsilon: EPS },
      ],
      inputShape: [nIn],
    });
    const exactW = localHessianMatrix({ block, z, wrt: 'W' });
    const gnW = localHessianMatrix({ block, z, wrt: 'W', form: 'gauss-newton' });
    expect(maxAbsDiff(exactW, gnW)).toBeLessThan(1e-4 * maxAbs(gnW));
    const eq18 = denseBnHW(w.dataSync(), z.dataSync(), mm, nIn, nOut, EPS);
    // BN makes l_b invariant to scaling a row w_i, so the exact H_W annihilates vec(W) row by row (eq. 18 does
    // not): exact H_w(i) = Z^T P_i Z / (m sigma_i^2), P_i = I - 11^T/m - y_i y_i^T/m. The y y^T term is
    // "1/m" in the paper's sense but removes one of the nIn directions: for isotropic inputs the trace
    // ratio is (nIn - 1)/nIn = 0.75 here (measured 0.72; tolerance 0.06).
    expect(Math.abs(trace(exactW) / trace(eq18) - (nIn - 1) / nIn)).toBeLessThan(0.06);
    const kw = w.dataSync();
    for (let i = 0; i < nOut; i++) {
      const v = new Float64Array(nIn * nOut);
      for (let j = 0; j < nIn; j++) v[j * nOut + i] = kw[j * nOut + i];
      let hv = 0;
      let scale = 0;
      for (let r = 0; r < exactW.dim; r++) {
        let s = 0;
        for (let c = 0; c < exactW.dim; c++) s += exactW.data[r * exactW.dim + c] * v[c];
        hv = Math.max(hv, Math.abs(s));
        scale = Math.max(scale, exactW.data[r * exactW.dim + r]);
      }
      expect(hv).toBeLessThan(1e-3 * scale);
    }
    // H_z: exact GN = (1/m) sum_i (w_i w_i^T / sigma_i^2) (x) P_i with P_i of rank m - 2: trace ratio (m - 2)/m
    const z2 = tf.tensor(randomArray(8 * nIn, 6), [8, nIn]);
    const hz = localHessianMatrix({ block, z: z2, wrt: 'z', form: 'gauss-newton' });
    const eq17 = denseBnHz(w.dataSync(), z2.dataSync(), 8, nIn, nOut, EPS);
    expect(trace(hz) / trace(eq17)).toBeCloseTo(6 / 8, 3);
    tf.dispose([w, z, z2]);
  });

  it('conv block without and with BN on the unrolled operator (im2col), strided and valid too', () => {
    const geoms = [
      { inputShape: [4, 4, 2] as [number, number, number], strides: 1, padding: 'same' as const },
      { inputShape: [5, 5, 2] as [number, number, number], strides: 2, padding: 'same' as const },
      { inputShape: [4, 3, 2] as [number, number, number], strides: 1, padding: 'valid' as const },
    ];
    for (const [gi, g] of geoms.entries()) {
      const kernelShape: [number, number, number, number] = [3, 3, 2, 3];
      const w = variable(randomArray(54, 10 + gi), kernelShape);
      const mm = 2;
      const z = tf.tensor(randomArray(mm * g.inputShape.reduce((a, b) => a * b, 1), 20 + gi), [
        mm,
        ...g.inputShape,
      ]);
      const block = chainBlock({
        weights: [w],
        ops: [{ op: 'conv2d', weight: 0, strides: g.strides, padding: g.padding }],
        inputShape: g.inputShape,
      });
      const geo = { inputShape: g.inputShape, kernelShape, strides: g.strides, padding: g.padding };
      const cz = convHz(w.dataSync(), geo, mm);
      const cw = convHW(z.dataSync(), mm, geo);
      // strides > 1 use tf.conv2d (first derivatives only): Gauss-Newton products (vjp / double vjp) still work
      const form = g.strides === 1 ? 'exact' : 'gauss-newton';
      expect(maxAbsDiff(localHessianMatrix({ block, z, wrt: 'z', form }), cz)).toBeLessThan(
        1e-5 * maxAbs(cz),
      );
      expect(maxAbsDiff(localHessianMatrix({ block, z, wrt: 'W', form }), cw)).toBeLessThan(
        1e-5 * maxAbs(cw),
      );
      tf.dispose([w, z]);
    }
    // conv + BN: eq. 17/18 on the unrolled operator vs the exact autodiff Hessian (1/(m P) terms dropped)
    const kernelShape: [number, number, number, number] = [3, 3, 2, 3];
    const w = variable(randomArray(54, 30), kernelShape);
    const z = tf.tensor(randomArray(4 * 4 * 4 * 2, 31), [4, 4, 4, 2]);
    const block = chainBlock({
      weights: [w],
      ops: [
        { op: 'conv2d', weight: 0 },
        { op: 'batchNorm', epsilon: EPS },
      ],
      inputShape: [4, 4, 2],
    });
    const geo = { inputShape: [4, 4, 2] as [number, number, number], kernelShape };
    const hw = localHessianMatrix({ block, z, wrt: 'W' });
    const eq18 = convBnHW(w.dataSync(), z.dataSync(), 4, geo, EPS);
    expect(Math.abs(trace(hw) / trace(eq18) - 1)).toBeLessThan(0.1);
    const hz = localHessianMatrix({ block, z, wrt: 'z', form: 'gauss-newton' });
    const eq17 = convBnHz(w.dataSync(), z.dataSync(), 4, geo, EPS);
    // the exact GN has trace (m P - 2) / (m P) of eq. 17's (the BN projection), m P = 64
    // (positions differ in norm near the border, so within 0.02 rather than exactly)
    expect(Math.abs(trace(hz) / trace(eq17) - 62 / 64)).toBeLessThan(0.02);
    tf.dispose([w, z]);
  });

  it('residual block: Gauss-Newton part of eq. 13, (S + dphi/dz)^T (S + dphi/dz), identity / orthogonal / general S', () => {
    const n = 3;
    const mm = 4;
    const w1 = variable(randomArray(n * n, 40, 0.5), [n, n]);
    const w2 = variable(randomArray(n * n, 41, 0.5), [n, n]);
    const body = [
      { op: 'dense' as const, weight: 0 },
      { op: 'batchNorm' as const, epsilon: EPS },
      { op: 'relu' as const },
      { op: 'dense' as const, weight: 1 },
    ];
    const theta = 0.7;
    const orth = [Math.cos(theta), -Math.sin(theta), 0, Math.sin(theta), Math.cos(theta), 0, 0, 0, 1];
    const general = Array.from(randomArray(n * n, 42));
    const z = tf.tensor(randomArray(mm * n, 43), [mm, n]);
    const phiJ = jacobian(
      (xs) =>
        body.reduce((h, op) => {
          if (op.op === 'dense')
            return tf.matMul(h as tf.Tensor2D, (op.weight === 0 ? w1 : w2) as tf.Tensor2D);
          if (op.op === 'batchNorm') {
            const { mean, variance } = tf.moments(h, [0]);
            return tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, EPS)));
          }
          return tf.relu(h);
        }, xs[0]),
      [z],
    );
    const spectra: number[][] = [];
    for (const s of [null, orth, general]) {
      // the kernel is S^T in tfjs layout
      const skip =
        s == null
          ? null
          : tf.tensor(
              Array.from({ length: n * n }, (_, k) => s[(k % n) * n + Math.floor(k / n)]),
              [n, n],
            );
      const block = chainBlock({ weights: [w1, w2], ops: [{ op: 'residual', skip, body }], inputShape: [n] });
      const gn = localHessianMatrix({ block, z, wrt: 'z', form: 'gauss-newton' });
      const closed = residualGaussNewtonZ(phiJ.to1DArray(), mm * n, mm, s);
      expect(maxAbsDiff(gn, closed)).toBeLessThan(1e-5 * maxAbs(closed));
      spectra.push(eigenvalues(closed));
      skip?.dispose();
    }
    expect(spectra[0].every(Number.isFinite)).toBe(true);
    tf.dispose([w1, w2, z]);
  });

  it('operators agree with the explicit matrices on random vectors and leak no tensors', async () => {
    const w = variable(randomArray(54, 50), [3, 3, 2, 3]);
    const z = tf.tensor(randomArray(2 * 4 * 4 * 2, 51), [2, 4, 4, 2]);
    const target = tf.tensor(randomArray(2 * 2 * 2 * 3, 52), [2, 2, 2, 3]);
    const block = chainBlock({
      weights: [w],
      ops: [
        { op: 'conv2d', weight: 0 },
        { op: 'batchNorm', epsilon: EPS },
        { op: 'relu' },
        { op: 'maxPool' },
      ],
      inputShape: [4, 4, 2],
    });
    for (const wrt of ['z', 'W'] as const) {
      for (const form of ['exact', 'gauss-newton'] as const) {
        const spec = { block, z, wrt, form, objective: { target } };
        const op = localHessianOperator(spec);
        const h = localHessianMatrix(spec);
        const v = Float64Array.from(randomArray(op.dim, 60));
        const hv = await expectNoLeak(() => op.apply(v), `${wrt}/${form} apply`);
        let err = 0;
        let scale = 0;
        for (let i = 0; i < op.dim; i++) {
          let s = 0;
          for (let j = 0; j < op.dim; j++) s += h.data[i * op.dim + j] * v[j];
          err = Math.max(err, Math.abs(s - hv[i]));
          scale = Math.max(scale, Math.abs(s));
        }
        expect(err, `${wrt}/${form}`).toBeLessThan(1e-5 * scale);
        // symmetric (float32 autodiff: 1e-4 relative)
        let asym = 0;
        for (let i = 0; i < op.dim; i++)
          for (let j = 0; j < i; j++)
            asym = Math.max(asym, Math.abs(h.data[i * op.dim + j] - h.data[j * op.dim + i]));
        expect(asym).toBeLessThan(1e-4 * maxAbs(h));
      }
    }
    tf.dispose([w, z, target]);
  });

  it('finite differences of the autodiff gradient agree with the Hessian operator (independent check)', () => {
    const w = variable(randomArray(nIn * nOut, 70), [nIn, nOut]);
    const z = tf.tensor(randomArray(m * nIn, 71), [m, nIn]);
    const target = tf.tensor(randomArray(m * nOut, 72), [m, nOut]);
    const block = chainBlock({
      weights: [w],
      ops: [{ op: 'dense', weight: 0 }, { op: 'batchNorm', epsilon: EPS }, { op: 'relu' }],
      inputShape: [nIn],
    });
    const op = localHessianOperator({ block, z, wrt: 'W', objective: { target } });
    const v = Float64Array.from(randomArray(op.dim, 73));
    const hv = op.apply(v);
    const h = 1e-2;
    const fd = tf.tidy(() => {
      const dv = tf.tensor(Float32Array.from(v), [nIn, nOut]);
      const g = (ww: tf.Tensor) =>
        tf.grad((a: tf.Tensor) => {
          const y = tf.relu(
            tf.tidy(() => {
              const p = tf.matMul(z as tf.Tensor2D, a as tf.Tensor2D);
              const { mean, variance } = tf.moments(p, [0]);
              return tf.mul(tf.sub(p, mean), tf.rsqrt(tf.add(variance, EPS)));
            }),
          );
          return tf.div(tf.sum(tf.square(tf.sub(target, y))), 2 * m) as tf.Scalar;
        })(ww);
      return tf.div(tf.sub(g(tf.add(w, tf.mul(dv, h))), g(tf.sub(w, tf.mul(dv, h)))), 2 * h).dataSync();
    });
    let err = 0;
    let scale = 0;
    for (let i = 0; i < op.dim; i++) {
      err = Math.max(err, Math.abs(fd[i] - hv[i]));
      scale = Math.max(scale, Math.abs(hv[i]));
    }
    // central differences in float32 with step 1e-2: O(h^2) + O(eps_f32 / h): 2% of the scale
    expect(err).toBeLessThan(0.02 * scale);
    tf.dispose([w, z, target]);
  });
});

describe('per-sample closed forms (the matrices of the Marchenko-Pastur law)', () => {
  // K = W^T, [nIn = 2, nOut = 3]: rows w_.^T of W are the columns of K
  const K = [1, 2, 0, 0, 1, 3];
  it('denseHzPerSample is K K^T, worked by hand; denseHz is I_m (x) it / m', () => {
    // K K^T = [[1+4+0, 0+2+0], [0+2+0, 0+1+9]] = [[5, 2], [2, 10]]
    const h = denseHzPerSample(K, 2, 3);
    expect(h.dim).toBe(2);
    expect(Array.from(h.data)).toEqual([5, 2, 2, 10]);
    const full = denseHz(K, 2, 3, 2);
    expect(Array.from(full.data)).toEqual([2.5, 1, 0, 0, 1, 5, 0, 0, 0, 0, 2.5, 1, 0, 0, 1, 5]);
  });

  it('denseBnHzPerSample weights each w_i w_i^T by 1 / (Var_i + eps), Var_i over the batch, worked by hand', () => {
    // z = [[1, 0], [0, 1]]: y = z K = rows [1, 2, 0] and [0, 1, 3]; biased variances (1/4, 1/4, 9/4)
    const eps = 0.25;
    const h = denseBnHzPerSample(K, [1, 0, 0, 1], 2, 2, 3, eps);
    // weights 1/(Var + eps) = (2, 2, 0.4); w_1 = (1, 0), w_2 = (2, 1), w_3 = (0, 3)
    // H = 2 (1,0)(1,0)^T + 2 (2,1)(2,1)^T + 0.4 (0,3)(0,3)^T = [[2 + 8, 4], [4, 2 + 3.6]]
    const expected = [10, 4, 4, 5.6];
    for (let i = 0; i < 4; i++) expect(h.data[i]).toBeCloseTo(expected[i], 12);
    const full = denseBnHz(K, [1, 0, 0, 1], 2, 2, 3, eps);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++) expect(full.data[i * 4 + j]).toBeCloseTo(expected[i * 2 + j] / 2, 12);
  });
});
