import { expectNoLeak, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countingOperator,
  denseOperator,
  gaussianVector,
  lanczos,
  lanczosRun,
  matrixWithSpectrum,
  mulberry32,
  randomOrthogonal,
  type SymmetricOperator,
  symmetricEigenvalues,
  tfOperator,
} from '../src/spectra';
import { ascending, maxAbsDiff } from './spectra-fixtures';

beforeAll(useCpuBackend);

/**
 * Q diag(lambda) Q^T with Q = H_1 H_2 H_3 a product of three Householder reflectors, applied in O(n):
 * a diagonal plus low-rank operator (each H Lambda H is Lambda plus a rank-2 term) whose spectrum is
 * exactly lambda. Nothing of size n x n exists anywhere.
 */
function reflectedDiagonal(lambda: Float64Array, seed: number): SymmetricOperator {
  const n = lambda.length;
  const rand = mulberry32(seed);
  const us = [0, 1, 2].map(() => {
    const u = gaussianVector(n, rand);
    const norm = Math.hypot(...u);
    return u.map((x) => x / norm);
  });
  const reflect = (v: Float64Array, u: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += u[i] * v[i];
    for (let i = 0; i < n; i++) v[i] -= 2 * s * u[i];
  };
  return {
    dim: n,
    apply(v) {
      const w = Float64Array.from(v);
      // Q^T v = H_3 H_2 H_1 v, then Lambda, then Q = H_1 H_2 H_3.
      for (const u of us) reflect(w, u);
      for (let i = 0; i < n; i++) w[i] *= lambda[i];
      for (const u of [...us].reverse()) reflect(w, u);
      return w;
    },
  };
}

/** Runs fn while recording the largest Float64Array / Float32Array created by `new` or `.from`. */
function largestTypedArray<T>(fn: () => T): { result: T; largest: number } {
  const g = globalThis as unknown as Record<string, unknown>;
  const originals = { Float64Array, Float32Array };
  let largest = 0;
  const spy = <C extends typeof Float64Array | typeof Float32Array>(ctor: C): C =>
    new Proxy(ctor, {
      construct(target, args, newTarget) {
        const made = Reflect.construct(target as typeof Float64Array, args, newTarget) as { length: number };
        largest = Math.max(largest, made.length);
        return made;
      },
    });
  g.Float64Array = spy(Float64Array);
  g.Float32Array = spy(Float32Array);
  try {
    return { result: fn(), largest };
  } finally {
    g.Float64Array = originals.Float64Array;
    g.Float32Array = originals.Float32Array;
  }
}

describe('lanczos (full reorthogonalisation) on operators with known spectra', () => {
  it('finds the 5 largest and 5 smallest of a 200 x 200 Q diag(lambda) Q^T', () => {
    const n = 200;
    const rand = mulberry32(21);
    // Distinct eigenvalues in [-1, 1] with a few separated at both ends.
    const lambda = ascending(
      Float64Array.from({ length: n }, (_, i) =>
        i < 5 ? -3 + i * 0.3 : i > n - 6 ? 3 - (n - 1 - i) * 0.3 : 2 * rand() - 1,
      ),
    );
    const op = countingOperator(denseOperator(matrixWithSpectrum(lambda, randomOrthogonal(n, rand)), n));
    const res = lanczos(op, { k: 5, which: 'both', tol: 1e-10, seed: 1 });
    expect(res.converged).toBe(true);
    expect(res.matvecs).toBe(op.count);
    const want = Float64Array.from([...lambda.subarray(0, 5), ...lambda.subarray(n - 5)]);
    // A Ritz value is within its residual of an eigenvalue (residual <= 1e-10 * 3 here); 1e-9 absolute.
    expect(maxAbsDiff(res.values, want)).toBeLessThan(1e-9);
    for (const r of res.residuals) expect(r).toBeLessThanOrEqual(1e-10 * 3);
    // Separated extremes converge long before n steps.
    expect(res.matvecs).toBeLessThan(80);
  });

  it('keeps the basis orthonormal to 1e-12 over 150 steps (no loss of orthogonality, no ghosts)', () => {
    const n = 200;
    const rand = mulberry32(22);
    const lambda = Float64Array.from({ length: n }, (_, i) => (i < 3 ? 10 - i : rand()));
    const run = lanczosRun(reflectedDiagonal(lambda, 6), gaussianVector(n, rand), 150);
    expect(run.steps).toBe(150);
    let worst = 0;
    for (let i = 0; i < run.steps; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let t = 0; t < n; t++) s += run.basis[i][t] * run.basis[j][t];
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    // Plain Lanczos loses orthogonality as Ritz values converge (Paige); 10 converges within ~20 steps.
    expect(worst).toBeLessThan(1e-12);
  });

  it('returns unit Ritz vectors with ||A y - theta y|| equal to the reported residual', () => {
    const n = 60;
    const lambda = Float64Array.from({ length: n }, (_, i) => i + 1);
    const op = reflectedDiagonal(lambda, 3);
    const res = lanczos(op, { k: 2, tol: 1e-6, vectors: true, seed: 2 });
    for (let i = 0; i < res.values.length; i++) {
      const y = res.vectors![i];
      const ay = op.apply(y);
      let norm = 0;
      let resid = 0;
      for (let t = 0; t < n; t++) {
        norm += y[t] ** 2;
        resid += (ay[t] - res.values[i] * y[t]) ** 2;
      }
      expect(Math.abs(norm - 1)).toBeLessThan(1e-12);
      // the residual estimate |beta_m s_mi| equals the true residual up to rounding: 1e-10 absolute
      expect(Math.abs(Math.sqrt(resid) - res.residuals[i])).toBeLessThan(1e-10);
    }
  });

  it('handles an invariant start and repeated eigenvalues by restarting (4 distinct values, dim 12)', () => {
    // Spectrum {1, 2, 3, 4} x 3: the Krylov space of any start has dimension 4; restarts find the copies.
    const lambda = Float64Array.from({ length: 12 }, (_, i) => (i % 4) + 1);
    const res = lanczos(reflectedDiagonal(lambda, 4), { k: 12, which: 'largest', maxSteps: 12, tol: 1e-8 });
    expect(res.steps).toBe(12);
    expect(maxAbsDiff(res.values, ascending(lambda))).toBeLessThan(1e-12);
  });

  it('4608-dimensional diagonal plus low-rank operator: 6 extremes, counted products, no 4608^2 array', () => {
    const n = 4608;
    const rand = mulberry32(9);
    const bulk = Float64Array.from({ length: n - 7 }, () => rand()); // dense bulk in [0, 1)
    const lambda = ascending(Float64Array.from([...bulk, -4, -3, -2, 4.5, 5, 6, 8]));
    const inner = reflectedDiagonal(lambda, 10);
    const seen = new Set<string | symbol>();
    // Only `apply` and `dim` may be touched: the operator is not a matrix in disguise.
    const guarded = new Proxy(inner, {
      get(target, prop, receiver) {
        seen.add(prop);
        return Reflect.get(target, prop, receiver);
      },
    });
    const op = countingOperator(guarded);
    const { result: res, largest } = largestTypedArray(() =>
      lanczos(op, { k: 3, which: 'both', tol: 1e-10, seed: 5 }),
    );
    expect(res.converged).toBe(true);
    expect(maxAbsDiff(res.values, [-4, -3, -2, 5, 6, 8])).toBeLessThan(1e-9);
    // Products: exactly what the counter saw, and few (observed 20; gaps >= 0.5 next to a bulk of width 1).
    expect(res.matvecs).toBe(op.count);
    expect(res.matvecs).toBeLessThanOrEqual(40);
    expect([...seen].filter((p) => p !== 'dim' && p !== 'apply' && p !== 'label')).toEqual([]);
    // Largest float array allocated during the run (by Lanczos or the operator): one vector.
    expect(largest).toBe(n);
  });
});

/**
 * H = J^T J for a 3x3 convolution with 72 input and 72 output channels on an 8x8 map with circular
 * padding: a 4608-dimensional local Hessian (eq. 8 for the unrolled conv) whose exact spectrum is known
 * through the 2-D DFT: J is block-circulant, so its eigenvalues are those of K^(p,q)^H K^(p,q) over the
 * 64 frequencies, K^(p,q) = sum_{dy,dx} K[dy][dx] e^{2 pi i (p (dy - 1) + q (dx - 1)) / 8}.
 */
describe('lanczos on a tfjs conv-block operator (8 x 8 x 72 = 4608)', () => {
  const size = 8;
  const ch = 72;
  const n = size * size * ch;

  function exactSpectrum(kernel: Float32Array): Float64Array {
    const all: number[] = [];
    const re = new Float64Array(ch * ch); // K^ as [co][ci]
    const im = new Float64Array(ch * ch);
    for (let p = 0; p < size; p++) {
      for (let q = 0; q < size; q++) {
        re.fill(0);
        im.fill(0);
        for (let dy = 0; dy < 3; dy++) {
          for (let dx = 0; dx < 3; dx++) {
            const phase = (2 * Math.PI * (p * (dy - 1) + q * (dx - 1))) / size;
            const c = Math.cos(phase);
            const s = Math.sin(phase);
            for (let ci = 0; ci < ch; ci++) {
              for (let co = 0; co < ch; co++) {
                const k = kernel[((dy * 3 + dx) * ch + ci) * ch + co];
                re[co * ch + ci] += k * c;
                im[co * ch + ci] += k * s;
              }
            }
          }
        }
        // M = K^H K (ci x ci, Hermitian) as the real symmetric [[X, -Y], [Y, X]], eigenvalues doubled.
        const m2 = 2 * ch;
        const big = new Float64Array(m2 * m2);
        for (let i = 0; i < ch; i++) {
          for (let j = 0; j < ch; j++) {
            let x = 0;
            let y = 0;
            for (let o = 0; o < ch; o++) {
              const ar = re[o * ch + i];
              const ai = -im[o * ch + i]; // conj(K)[o][i]
              const br = re[o * ch + j];
              const bi = im[o * ch + j];
              x += ar * br - ai * bi;
              y += ar * bi + ai * br;
            }
            big[i * m2 + j] = x;
            big[(i + ch) * m2 + j + ch] = x;
            big[i * m2 + j + ch] = -y;
            big[(i + ch) * m2 + j] = y;
          }
        }
        const ev = symmetricEigenvalues({ dim: m2, data: big }, { symmetryTolerance: 1e-9 });
        for (let k = 0; k < m2; k += 2) all.push((ev[k] + ev[k + 1]) / 2);
      }
    }
    return ascending(all);
  }

  it('matches the DFT spectrum, counts its products, allocates no 4608 x 4608 tensor and leaks none', async () => {
    const rand = mulberry32(31);
    const kernelValues = Float32Array.from(
      { length: 9 * ch * ch },
      () => (2 * rand() - 1) * Math.sqrt(3 / (9 * ch)),
    );
    const kernel = tf.tensor4d(kernelValues, [3, 3, ch, ch]);
    const wrap = (x: tf.Tensor4D): tf.Tensor4D => {
      const rows = tf.concat(
        [x.slice([0, size - 1, 0, 0], [1, 1, size, ch]), x, x.slice([0, 0, 0, 0], [1, 1, size, ch])],
        1,
      );
      return tf.concat(
        [
          rows.slice([0, 0, size - 1, 0], [1, size + 2, 1, ch]),
          rows,
          rows.slice([0, 0, 0, 0], [1, size + 2, 1, ch]),
        ],
        2,
      ) as tf.Tensor4D;
    };
    // J^T is the circular correlation with the flipped, channel-transposed kernel
    // K'[dy][dx][co][ci] = K[2 - dy][2 - dx][ci][co]: H v = J^T (J v) is two forward convolutions.
    const kernelT = tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
    const conv = (x: tf.Tensor4D, k: tf.Tensor4D) => tf.conv2d(wrap(x), k, 1, 'valid');
    const hv = (v: tf.Tensor1D) =>
      conv(conv(v.reshape([1, size, size, ch]), kernel), kernelT).reshape([n]) as tf.Tensor1D;
    const op = countingOperator(tfOperator(n, hv, 'conv J^T J'));

    let res: ReturnType<typeof lanczos> | undefined;
    const before = tf.memory().numTensors;
    const profile = await expectNoLeak(() =>
      tf.profile(() => {
        res = lanczos(op, { k: 2, which: 'largest', tol: 1e-5, seed: 3 });
      }),
    );
    expect(tf.memory().numTensors).toBe(before);
    // A real kernel gives conjugate K^(p,q) and K^(-p,-q), so most eigenvalues come in equal pairs.
    // Single-vector Lanczos finds one copy of an exact double eigenvalue, but float32 rounding in the
    // products splits the pairs by ~1e-8 and it may resolve both: which happens depends on the rounding.
    // So: every Ritz value is within 1e-5 relative of an eigenvalue (observed 1e-8), the largest is
    // lambda_max, and no distinct eigenvalue above the smallest Ritz value is missed.
    const exact = exactSpectrum(kernelValues);
    const scale = exact[n - 1];
    const values = res!.values;
    for (const v of values) {
      let nearest = Number.POSITIVE_INFINITY;
      for (let i = n - 1; i >= n - 64; i--) nearest = Math.min(nearest, Math.abs(exact[i] - v));
      expect(nearest / scale).toBeLessThan(1e-5);
    }
    expect(Math.abs(values[values.length - 1] - scale) / scale).toBeLessThan(1e-5);
    for (let i = n - 1; exact[i] >= values[0] * (1 + 1e-5); i--) {
      expect(Math.min(...Array.from(values, (v) => Math.abs(v - exact[i]))) / scale).toBeLessThan(1e-5);
    }
    expect(res!.converged).toBe(true);
    expect(res!.matvecs).toBe(op.count);
    // Observed 57 products (k = 2, tol 1e-5); the bound leaves room for rounding, far below n = 4608.
    expect(res!.matvecs).toBeLessThanOrEqual(100);
    // A 4608 x 4608 float32 tensor would be 85 MB; all tensors alive at once stayed under 2 MB
    // (observed peak 0.6 MB: the kernels and a few padded maps).
    expect(profile.peakBytes).toBeLessThan(2e6);
    tf.dispose([kernel, kernelT]);
  });
});
