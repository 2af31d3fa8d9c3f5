import { describe, expect, it } from 'vitest';
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
} from '../src';
import { ascending, maxAbsDiff } from './fixtures';

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
