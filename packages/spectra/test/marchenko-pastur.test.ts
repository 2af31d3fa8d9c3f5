import { describe, expect, it } from 'vitest';
import {
  gaussian,
  ksDistance,
  marchenkoPastur,
  marchenkoPasturForBatchNorm,
  marchenkoPasturForDense,
  mulberry32,
  symmetricEigenvalues,
} from '../src';
import { gaussianMatrix, gram } from './fixtures';

/**
 * Integral of `f` over [a, b] for f with integrable square-root behaviour at both ends (and the
 * 1/sqrt(lambda) of c = 1 at a = 0): split at the midpoint, substitute lambda = a + t^2 on the left and
 * b - t^2 on the right (both make the integrand smooth), composite Simpson with `k` panels per half.
 * Independent of the closed-form cdf, which uses the substitution lambda = mid - half cos(theta).
 */
function integrateEdges(f: (x: number) => number, a: number, b: number, k = 4000): number {
  const simpson = (g: (t: number) => number, t1: number) => {
    const h = t1 / k;
    let s = g(0) + g(t1);
    for (let i = 1; i < k; i++) s += (i % 2 === 1 ? 4 : 2) * g(i * h);
    return (s * h) / 3;
  };
  const m = (a + b) / 2;
  const safe = (x: number) => (Number.isFinite(f(x)) ? f(x) : 0);
  // d lambda = 2 t dt; at t = 0 the product 2 t f has a finite limit (0 at a square-root edge, non-zero
  // at the 1/sqrt(lambda) edge of c = 1), taken as its value at t = 1e-9 (relative error ~1e-9).
  const tiny = 1e-9 * Math.sqrt(b - a);
  const left = simpson((t) => 2 * Math.max(t, tiny) * safe(a + Math.max(t, tiny) ** 2), Math.sqrt(m - a));
  const right = simpson((t) => 2 * Math.max(t, tiny) * safe(b - Math.max(t, tiny) ** 2), Math.sqrt(b - m));
  return left + right;
}

describe('marchenkoPastur: eq. (10)-(11) exactly as printed', () => {
  it('edges, atom and density are the printed formulas (retyped here independently)', () => {
    for (const c of [0.25, 0.5, 1, 2, 4]) {
      for (const sigma2 of [0.5, 1, 3]) {
        const law = marchenkoPastur({ c, sigma2 });
        const cp = (sigma2 * (1 + Math.sqrt(c)) ** 2) / c;
        const cm = (sigma2 * (1 - Math.sqrt(c)) ** 2) / c;
        expect(law.upper).toBeCloseTo(cp, 13);
        expect(law.lower).toBeCloseTo(cm, 13);
        expect(law.atomAtZero).toBe(c < 1 ? 1 - c : 0);
        for (const t of [0.1, 0.37, 0.5, 0.9]) {
          const x = cm + t * (cp - cm);
          const printed = (c / (2 * Math.PI * sigma2)) * (Math.sqrt((cp - x) * (x - cm)) / x);
          expect(Math.abs(law.density(x) - printed)).toBeLessThan(1e-14 * printed);
        }
        expect(law.density(cm - 1e-9)).toBe(0);
        expect(law.density(cp + 1e-9)).toBe(0);
      }
    }
  });

  it('the issue example: n_b = 256, n_{b-1} = 512, sigma2 = 2 has edges 0.343 and 11.66', () => {
    const law = marchenkoPastur({ c: 256 / 512, sigma2: 2 });
    // 2 (1 -+ sqrt(1/2))^2 / (1/2), by hand: 0.34315 and 11.6569
    expect(law.lower).toBeCloseTo(0.34315, 4);
    expect(law.upper).toBeCloseTo(11.6569, 4);
  });

  it('eq. (19) is the case sigma2 = c: c_+- = (1 +- sqrt(c))^2, density sqrt(...) / (2 pi lambda)', () => {
    for (const c of [0.5, 1, 2]) {
      const law = marchenkoPasturForBatchNorm({ nOut: 100 * c, nIn: 100 });
      const cp = (1 + Math.sqrt(c)) ** 2;
      const cm = (1 - Math.sqrt(c)) ** 2;
      expect(Math.abs(law.upper - cp)).toBeLessThan(1e-14);
      expect(Math.abs(law.lower - cm)).toBeLessThan(1e-14);
      const x = (cp + cm) / 2;
      const printed = Math.sqrt((cp - x) * (x - cm)) / (2 * Math.PI * x);
      expect(Math.abs(law.density(x) - printed)).toBeLessThan(1e-14 * printed);
    }
  });

  it('the density integrates to 1 - atom, and the cdf equals the numerical integral (1e-8)', () => {
    for (const c of [0.25, 0.5, 1, 2, 4]) {
      for (const sigma2 of [0.5, 2]) {
        const law = marchenkoPastur({ c, sigma2 });
        // Simpson with 4000 panels on a smooth integrand: error far below 1e-8 (c = 1 included: the
        // substitution removes the 1/sqrt(lambda) singularity).
        const mass = integrateEdges(law.density, law.lower, law.upper);
        expect(Math.abs(mass - (1 - law.atomAtZero)), `c=${c}`).toBeLessThan(1e-8);
        for (const t of [0.01, 0.2, 0.5, 0.77, 0.99]) {
          const x = law.lower + t * (law.upper - law.lower);
          const num = law.atomAtZero + integrateEdges(law.density, law.lower, x);
          expect(Math.abs(law.cdf(x) - num), `c=${c} t=${t}`).toBeLessThan(1e-8);
        }
      }
    }
  });

  it('the cdf is monotone from the atom to 1: 0 below 0, atom at 0 and on [0, c_-], 1 from c_+', () => {
    for (const c of [0.5, 1, 2]) {
      const law = marchenkoPastur({ c, sigma2: 1.5 });
      expect(law.cdf(-1e-12)).toBe(0);
      expect(law.cdf(0)).toBe(law.atomAtZero);
      expect(law.cdf(law.lower)).toBe(law.atomAtZero);
      expect(law.cdf(law.upper)).toBe(1);
      expect(law.cdf(law.upper * 2)).toBe(1);
      let prev = law.cdf(0);
      for (let i = 1; i <= 2000; i++) {
        const v = law.cdf((law.upper * i) / 2000);
        expect(v).toBeGreaterThanOrEqual(prev);
        prev = v;
      }
    }
  });

  it('rejects invalid parameters', () => {
    expect(() => marchenkoPastur({ c: 0, sigma2: 1 })).toThrow(/c must be/);
    expect(() => marchenkoPastur({ c: 1, sigma2: -1 })).toThrow(/sigma2 must be/);
  });
});

describe('sampled spectra match the law under the stated convention (entries of W with variance sigma2 / n_b)', () => {
  const nIn = 400; // n_{b-1}
  const sigma2 = 2;

  function spectrum(nOut: number, variance: number, seed: number): Float64Array {
    const w = gaussianMatrix(nOut, nIn, variance, seed);
    return symmetricEigenvalues({ dim: nIn, data: gram(w, nOut, nIn) });
  }

  it('H_z = W^T W for n_{b-1} = 400, c in {0.5, 1, 2}: KS distance < 0.03; other conventions fail', () => {
    for (const [nOut, seed] of [
      [200, 1],
      [400, 2],
      [800, 3],
    ]) {
      const c = nOut / nIn;
      const law = marchenkoPastur({ c, sigma2 });
      expect(marchenkoPasturForDense({ nOut, nIn, variance: sigma2 / nOut })).toMatchObject({
        c: law.c,
        sigma2: law.sigma2,
      });
      const ev = spectrum(nOut, sigma2 / nOut, seed);
      const ks = ksDistance(ev, law);
      // Finite-n deviation is O(1/n) in the bulk (plus edge effects); for n = 400 observed
      // 0.0068 (c = 0.5), 0.0069 (c = 1), 0.0071 (c = 2). Bound 0.03. For c = 0.5 the 200 zero eigenvalues go to the atom.
      expect(ks.distance, `c=${c}`).toBeLessThan(0.03);
      if (c < 1) expect(ks.zeros).toBe(nIn - nOut);
      // Controls: entry variance sigma2 (no 1/n_b) puts the spectrum n_b times too far right, and for
      // c != 1 entry variance sigma2 / n_{b-1} scales it by 1/c: both are far from the law (observed
      // 0.5 / 0.94 / 1 and 0.155 / 0.307).
      expect(ksDistance(spectrum(nOut, sigma2, seed), law).distance).toBeGreaterThan(0.4);
      if (c !== 1) expect(ksDistance(spectrum(nOut, sigma2 / nIn, seed), law).distance).toBeGreaterThan(0.1);
    }
  });

  it('the issue example: n_b = 256, n_{b-1} = 512, sigma2 = 2 gives sampled edges near 0.34 and 11.7', () => {
    const nOut = 256;
    const n = 512;
    const w = gaussianMatrix(nOut, n, 2 / nOut, 4);
    const ev = symmetricEigenvalues({ dim: n, data: gram(w, nOut, n) });
    const nonzero = ev.filter((x) => x > 1e-8);
    expect(nonzero.length).toBe(nOut);
    // Edge fluctuations are O(n^(-2/3)) relative, a few % here: observed 0.344 and 11.22 (the issue's
    // author saw 0.37 and 11.3 with another sample).
    expect(Math.abs(nonzero[0] - 0.343)).toBeLessThan(0.1);
    expect(Math.abs(nonzero[nOut - 1] - 11.657) / 11.657).toBeLessThan(0.06);
  });

  it('eq. (19): H_z = sum_i w_i w_i^T / ||w_i||^2 (BN, eq. 17 with white inputs) for any weight scale', () => {
    const nOut = 200;
    const law = marchenkoPasturForBatchNorm({ nOut, nIn });
    for (const scale of [0.01, 1, 30]) {
      const w = gaussianMatrix(nOut, nIn, scale * scale, 5);
      // Var[w_i^T z] = ||w_i||^2 for z with identity covariance: normalise each row.
      for (let i = 0; i < nOut; i++) {
        let s = 0;
        for (let j = 0; j < nIn; j++) s += w[i * nIn + j] ** 2;
        const inv = 1 / Math.sqrt(s);
        for (let j = 0; j < nIn; j++) w[i * nIn + j] *= inv;
      }
      const ev = symmetricEigenvalues({ dim: nIn, data: gram(w, nOut, nIn) });
      // Same bound as without BN (observed 0.0059 for every scale: the spectrum does not depend on it).
      expect(ksDistance(ev, law).distance).toBeLessThan(0.03);
    }
  });
});

describe('ksDistance', () => {
  it('by hand: sample {0.25, 0.5, 0.75} against U(0, 1) has D = 0.25', () => {
    const uniform = { cdf: (x: number) => Math.min(1, Math.max(0, x)), atomAtZero: 0 };
    const r = ksDistance([0.5, 0.25, 0.75], uniform);
    expect(r.distance).toBeCloseTo(0.25, 15);
  });

  it('counts near-zero eigenvalues toward the atom; without that, rounding noise decides the distance', () => {
    // c = 0.5: atom 1/2. 100 "zeros" carrying +-1e-15 rounding and 100 values at the midpoint quantiles
    // of the continuous part, F^-1(1/2 + (k - 1/2)/200): the exact distance is then 1/(2n) = 0.0025.
    const law = marchenkoPastur({ c: 0.5, sigma2: 1 });
    const inverse = (p: number) => {
      let lo = law.lower;
      let hi = law.upper;
      for (let i = 0; i < 200; i++) {
        const mid = (lo + hi) / 2;
        if (law.cdf(mid) < p) lo = mid;
        else hi = mid;
      }
      return (lo + hi) / 2;
    };
    const rand = mulberry32(1);
    const g = gaussian(rand);
    const ev = [
      ...Array.from({ length: 100 }, () => 1e-15 * g()),
      ...Array.from({ length: 100 }, (_, k) => inverse(0.5 + (k + 0.5) / 200)),
    ];
    const snapped = ksDistance(ev, law);
    expect(snapped.zeros).toBe(100);
    expect(Math.abs(snapped.distance - 0.0025)).toBeLessThan(1e-9);
    // zeroTolerance 0: the negative half of the noise sits below 0 where F = 0 (D ~ 0.25).
    const raw = ksDistance(ev, law, { zeroTolerance: 0 });
    expect(raw.distance).toBeGreaterThan(0.15);
  });
});
