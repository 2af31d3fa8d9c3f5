import { describe, expect, it } from 'vitest';
import {
  cdfDistance,
  denseOperator,
  empiricalMeasure,
  lanczos,
  matrixWithSpectrum,
  measureCdf,
  mulberry32,
  rademacherVector,
  randomOrthogonal,
  stochasticLanczosQuadrature,
} from '../src';

describe('measureCdf and cdfDistance (hand-computed step functions)', () => {
  it('gives the CDF of a discrete measure, right-continuous', () => {
    const m = { nodes: [2, -1, 0.5], weights: [0.5, 0.25, 0.25] };
    expect(measureCdf(m, -2)).toBe(0);
    expect(measureCdf(m, -1)).toBe(0.25);
    expect(measureCdf(m, 0.5)).toBe(0.5);
    expect(measureCdf(m, 1.99)).toBe(0.5);
    expect(measureCdf(m, 2)).toBe(1);
  });

  it('two atoms against one in the middle: KS 1/2, Wasserstein-1 1/2', () => {
    // F_a - F_b = 1/2 on [0, 1/2), -1/2 on [1/2, 1), 0 beyond: sup 1/2, integral 1/4 + 1/4.
    const d = cdfDistance({ nodes: [0, 1], weights: [0.5, 0.5] }, { nodes: [0.5], weights: [1] });
    expect(d.ks).toBe(0.5);
    expect(d.wasserstein1).toBe(0.5);
    expect(cdfDistance(empiricalMeasure([3, 1, 2]), empiricalMeasure([1, 2, 3])).ks).toBe(0);
  });

  it('shifted empirical measures: KS 1/n per unmatched step, W1 = the shift', () => {
    // {1..10} against {1.5..10.5}: F_a - F_b = 1/10 on every [k, k + 1/2), so KS 0.1 and W1 = 10 * 0.1 * 0.5.
    const a = Array.from({ length: 10 }, (_, i) => i + 1);
    const d = cdfDistance(empiricalMeasure(a), empiricalMeasure(a.map((x) => x + 0.5)));
    expect(d.ks).toBeCloseTo(0.1, 12);
    expect(d.wasserstein1).toBeCloseTo(0.5, 12);
  });

  it('counts values within the zero tolerance as 0 in both measures', () => {
    const a = { nodes: [1e-12, 1], weights: [0.5, 0.5] };
    const b = { nodes: [-1e-12, 1], weights: [0.5, 0.5] };
    expect(cdfDistance(a, b).ks).toBe(0.5); // the atom falls on either side of 0
    expect(cdfDistance(a, b, { zeroTolerance: 1e-9 }).ks).toBe(0);
    expect(() => cdfDistance(a, { nodes: [1], weights: [0.5] })).toThrow(/not 1/);
  });
});

describe('SLQ against the exact spectrum, measured by the CDF distance', () => {
  // Half the eigenvalues exactly 0 (rank n/2, as in the BN and Marchenko-Pastur blocks), the rest
  // spread over [0.01, 10] log-uniformly: the shape of the local Hessians' spectra.
  const n = 300;
  const rand = mulberry32(11);
  const lambda = Float64Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : 10 ** (-2 + 3 * rand())));
  const a = matrixWithSpectrum(lambda, randomOrthogonal(n, mulberry32(12)));
  const op = denseOperator(a, n);

  it('8 probes x 30 steps: W1 < 1% of the range; KS 0.5 until the atom at 0 is resolved (80 steps)', () => {
    const tol = 1e-8;
    const exact = empiricalMeasure(lambda);
    const slq = (steps: number) => stochasticLanczosQuadrature(op, { probes: 8, steps, seed: 1 });
    const d30 = cdfDistance(slq(30), exact, { zeroTolerance: tol });
    const d80 = cdfDistance(slq(80), exact, { zeroTolerance: tol });
    // W1 of an m-node Gauss rule is O(range / m) (Chen, Trogdon and Ubaru 2021), plus probe noise
    // ~ range * sqrt(2 / (n * probes)). Observed 4.6e-3 and 4.4e-3 of the range 10; bound 1e-2.
    expect(d30.wasserstein1 / 10).toBeLessThan(1e-2);
    expect(d80.wasserstein1 / 10).toBeLessThan(1e-2);
    // The Gauss node of the atom converges to 0 only as fast as Lanczos resolves the gap [0, 0.01] in a
    // range of 10: after 30 steps it is still at ~2e-4, above the tolerance, so F_slq(0) = 0 against 1/2.
    // The KS distance says exactly that; at 80 steps the node is at 1.5e-11 and KS is 0.025 (bound 0.05).
    expect(d30.ks).toBeCloseTo(0.5, 6);
    expect(d30.at).toBe(0);
    expect(d80.ks).toBeLessThan(0.05);
  });

  it('without the atom, 8 probes x 30 steps: KS < 0.12, attained at the crowded low end', () => {
    const r = mulberry32(11);
    const mu = Float64Array.from({ length: n }, () => 10 ** (-2 + 3 * r()));
    const b = denseOperator(matrixWithSpectrum(mu, randomOrthogonal(n, mulberry32(12))), n);
    const d = cdfDistance(
      stochasticLanczosQuadrature(b, { probes: 8, steps: 30, seed: 1 }),
      empiricalMeasure(mu),
    );
    // A third of the eigenvalues lie in [0.01, 0.1], 1% of the range: 30 nodes spread over the range
    // put ~1 node there per probe. Observed 0.075 at x = 0.02; bound 0.12.
    expect(d.ks).toBeLessThan(0.12);
    expect(d.at).toBeLessThan(0.1);
  });

  it('a Lanczos run for the extremes serves as the first probe (same rule, no extra products)', () => {
    const v = rademacherVector(n, mulberry32(3));
    const ext = lanczos(op, { k: 2, which: 'both', tol: 1e-12, maxSteps: 40, start: v, quadrature: true });
    const plain = stochasticLanczosQuadrature(op, { probes: 1, steps: ext.steps, seed: 3 });
    // Same start vector and steps: the same tridiagonal, so the same Gauss rule up to rounding.
    expect(ext.quadrature!.nodes.length).toBe(plain.nodes.length);
    for (let k = 0; k < plain.nodes.length; k++) {
      expect(Math.abs(ext.quadrature!.nodes[k] - plain.nodes[k])).toBeLessThan(1e-9 * 10);
      expect(Math.abs(ext.quadrature!.weights[k] - plain.weights[k])).toBeLessThan(1e-9);
    }
    const both = stochasticLanczosQuadrature(op, { probes: 3, steps: 20, seed: 3, first: ext.quadrature });
    const fresh = stochasticLanczosQuadrature(op, { probes: 3, steps: 20, seed: 3 });
    expect(both.matvecs).toBe(ext.matvecs + 2 * 20);
    expect(Array.from(both.probeOffsets)).toEqual([0, ext.steps, ext.steps + 20, ext.steps + 40]);
    // Probes 2 and 3 are the same vectors as without `first`.
    expect(Array.from(both.nodes.subarray(ext.steps))).toEqual(Array.from(fresh.nodes.subarray(20)));
  });
});
