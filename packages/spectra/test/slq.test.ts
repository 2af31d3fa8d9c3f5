import { describe, expect, it } from 'vitest';
import {
  countingOperator,
  denseOperator,
  densityOnGrid,
  gaussianVector,
  hutchinsonTrace,
  lanczosQuadrature,
  matrixWithSpectrum,
  mulberry32,
  randomOrthogonal,
  slqProbeQuadraticForms,
  slqTrace,
  stochasticLanczosQuadrature,
} from '../src';

/** A = Q diag(lambda) Q^T and, for a function f, f(A) = Q diag(f(lambda)) Q^T from the same Q. */
function spectralPair(lambda: Float64Array, seed: number) {
  const n = lambda.length;
  const q = randomOrthogonal(n, mulberry32(seed));
  return {
    a: matrixWithSpectrum(lambda, q),
    f: (fn: (x: number) => number) => matrixWithSpectrum(lambda.map(fn), q),
  };
}

/**
 * Standard deviation of the mean of v^T B v over `probes` Rademacher vectors:
 * Var(v^T B v) = 2 sum_{i != j} b_ij^2 for symmetric B (the independent, closed-form reference).
 */
function rademacherSd(b: Float64Array, n: number, probes: number): number {
  let off = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) off += b[i * n + j] ** 2;
  return Math.sqrt((2 * off) / probes);
}

describe('lanczosQuadrature (Gauss rule of one vector)', () => {
  it('is exact for the moments v^T A^p v / v^T v, p <= 2m - 1 (m = 6 steps)', () => {
    const n = 80;
    const lambda = Float64Array.from({ length: n }, (_, i) => 0.5 + (1.5 * i) / (n - 1));
    const { a } = spectralPair(lambda, 1);
    const op = denseOperator(a, n);
    const v = gaussianVector(n, mulberry32(2));
    const m = 6;
    const quad = lanczosQuadrature(op, v, m);
    expect(quad.nodes.length).toBe(m);
    expect(quad.matvecs).toBe(m);
    let vv = 0;
    for (const x of v) vv += x * x;
    let w: Float64Array = Float64Array.from(v);
    for (let p = 0; p <= 2 * m - 1; p++) {
      let direct = 0;
      for (let i = 0; i < n; i++) direct += v[i] * w[i];
      direct /= vv;
      let rule = 0;
      for (let k = 0; k < m; k++) rule += quad.weights[k] * quad.nodes[k] ** p;
      // Exact in exact arithmetic; rounding in the recurrences and moments up to 2^11: 1e-11 relative.
      expect(Math.abs(rule - direct) / Math.abs(direct)).toBeLessThan(1e-11);
      w = op.apply(w);
    }
    // ... and not exact at degree 2m (the rule is a Gauss rule, not the measure itself).
    let direct = 0;
    for (let i = 0; i < n; i++) direct += v[i] * w[i];
    direct /= vv;
    let rule = 0;
    for (let k = 0; k < m; k++) rule += quad.weights[k] * quad.nodes[k] ** (2 * m);
    expect(Math.abs(rule - direct) / direct).toBeGreaterThan(1e-9);
  });
});

describe('hutchinsonTrace', () => {
  it('is within 4 standard errors of the exact trace, and its standard error matches the closed form', () => {
    const n = 200;
    const rand = mulberry32(3);
    const lambda = Float64Array.from({ length: n }, () => 4 * rand() - 1);
    const { a } = spectralPair(lambda, 4);
    const exact = lambda.reduce((s, x) => s + x, 0);
    const probes = 64;
    const op = countingOperator(denseOperator(a, n));
    const est = hutchinsonTrace(op, { probes, seed: 5 });
    expect(est.matvecs).toBe(probes);
    expect(op.count).toBe(probes);
    const sd = rademacherSd(a, n, probes);
    // 4 sigma: fails with probability ~6e-5 for a fresh seed (the seed is fixed anyway).
    expect(Math.abs(est.trace - exact)).toBeLessThan(4 * sd);
    // The sample standard error estimates sd with relative error ~ 1/sqrt(2 * 64) = 9%; 30% is ~3.4 sigma.
    expect(Math.abs(est.standardError - sd) / sd).toBeLessThan(0.3);
  });

  it('is exact with zero standard error on a diagonal matrix (v_i^2 = 1)', () => {
    const d = [1.5, -2, 3, 0.25];
    const data = new Float64Array(16);
    d.forEach((x, i) => {
      data[i * 4 + i] = x;
    });
    const est = hutchinsonTrace(denseOperator(data, 4), { probes: 5 });
    expect(Math.abs(est.trace - 2.75)).toBeLessThan(1e-15);
    expect(est.standardError).toBe(0);
  });
});

describe('stochasticLanczosQuadrature (Ubaru-Chen-Saad)', () => {
  // Two clusters of 200 eigenvalues each: uniform on [0.1, 1] and on [3, 4].
  const n = 400;
  const rand = mulberry32(6);
  const lambda = Float64Array.from({ length: n }, (_, i) => (i < n / 2 ? 0.1 + 0.9 * rand() : 3 + rand()));
  const { a, f } = spectralPair(lambda, 7);
  const probes = 16;
  const steps = 30;
  const op = countingOperator(denseOperator(a, n));
  const est = stochasticLanczosQuadrature(op, { probes, steps, seed: 8 });

  it('uses probes * steps products and weights summing to 1', () => {
    expect(est.matvecs).toBe(probes * steps);
    expect(op.count).toBe(probes * steps);
    expect(est.nodes.length).toBe(probes * steps);
    expect(Math.abs(est.weights.reduce((s, w) => s + w, 0) - 1)).toBeLessThan(1e-12);
  });

  it("its probes' v^T A v are Hutchinson's samples: `known` reproduces hutchinsonTrace of the same seed", () => {
    const known = slqProbeQuadraticForms(est);
    const plain = hutchinsonTrace(denseOperator(a, n), { probes: 20, seed: 8 });
    const reused = hutchinsonTrace(countingOperator(denseOperator(a, n)), { probes: 20, seed: 8, known });
    // Same vectors; the Gauss rule reproduces v^T A v to rounding (1e-12 relative).
    expect(Math.abs(reused.trace - plain.trace)).toBeLessThan(1e-12 * Math.abs(plain.trace));
    expect(reused.matvecs).toBe(20 - probes);
  });

  it('estimates tr(A) and log det(A) within 4 standard deviations of the Rademacher estimator', () => {
    // For f(x) = x and log, a 30-node Gauss rule on [0.1, 4] is exact to far below the probe noise
    // (log is analytic there; its Gauss error decays like ((sqrt(k) - 1)/(sqrt(k) + 1))^(2m), k = 40),
    // so the error is the Hutchinson noise, whose sd is computed in closed form from f(A).
    for (const [fn, name] of [
      [(x: number) => x, 'trace'],
      [Math.log, 'logdet'],
    ] as const) {
      const exact = lambda.reduce((s, x) => s + fn(x), 0);
      const sd = rademacherSd(f(fn), n, probes);
      expect(Math.abs(slqTrace(est, fn) - exact), name).toBeLessThan(4 * sd);
    }
  });

  it('gives a smoothed density close to the exact smoothed density (L1 < 0.08)', () => {
    const sigma = 0.15;
    const grid = Float64Array.from({ length: 601 }, (_, i) => -1 + (6 * i) / 600);
    const got = densityOnGrid(est, grid, sigma);
    const exact = densityOnGrid({ nodes: lambda, weights: new Float64Array(n).fill(1 / n) }, grid, sigma);
    let l1 = 0;
    let mass = 0;
    for (let i = 0; i < grid.length; i++) {
      l1 += Math.abs(got[i] - exact[i]) * 0.01;
      mass += got[i] * 0.01;
    }
    // Both integrate to 1 (grid covers +-6 sigma beyond the spectrum): 1e-3 for the Riemann sum.
    expect(Math.abs(mass - 1)).toBeLessThan(1e-3);
    // The L1 error of the smoothed SLQ density: probe noise (~1/sqrt(n * probes) per bump) plus nodes that
    // 30 steps place between the clusters. Observed 0.040; bound 0.08.
    expect(l1).toBeLessThan(0.08);
    // Mass of the lower cluster: exactly 1/2; within 0.03 (observed 0.502).
    const lower = est.nodes.reduce((s, x, k) => s + (x < 2 ? est.weights[k] : 0), 0);
    expect(Math.abs(lower - 0.5)).toBeLessThan(0.03);
  });
});
