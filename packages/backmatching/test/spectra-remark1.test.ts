import { Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { randomRemark1Case } from '../src/claims';
import { gaussian, mulberry32, randomOrthogonal, remark1AsPrinted, remark1Corrected } from '../src/spectra';

describe('Remark 1 as printed', () => {
  it('is refuted by A = diag(-0.89, -0.70), s = 0.1: assumptions hold, conclusion fails', () => {
    const a = new Matrix([
      [-0.89, 0],
      [0, -0.7],
    ]);
    const r = remark1AsPrinted(a, 0.1);
    // By hand: sigma_max = 0.89 < 0.9; C(A) = 0.89 / 0.70 = 1.2714 > 1.1 / 0.9 = 1.2222;
    // I + A = diag(0.11, 0.30), C = 0.30 / 0.11 = 2.7273. 1e-12 relative.
    expect(r.sigmaMaxA).toBeCloseTo(0.89, 12);
    expect(r.conditionA).toBeCloseTo(0.89 / 0.7, 12);
    expect(r.bound).toBeCloseTo(1.1 / 0.9, 12);
    expect(r.conditionIPlusA).toBeCloseTo(0.3 / 0.11, 11);
    expect(r.assumptionA && r.assumptionB && r.assumptionsMet).toBe(true);
    expect(r.conclusion).toBe(false);
    expect(r.counterexample).toBe(true);
    // The corrected statement with a = sigma_max(A) = 0.89 does not apply: C(A) <= (1.89 / 0.11) = 17.2.
    const c = remark1Corrected(a, 0.89);
    expect(c.assumptionA).toBe(true);
    expect(c.assumptionB).toBe(false);
    expect(c.counterexample).toBe(false);
    expect(c.boundHolds).toBe(true); // C(I + A) = 2.73 <= 17.2
  });
});

// Random A in four structures: the generator the claims report uses (src/claims/remark1.ts).
const randomCase = randomRemark1Case;

describe('Remark 1 corrected: sigma_max(A) <= a < 1 and C(A) > (1 + a)/(1 - a) imply C(I + A) < C(A)', () => {
  it('holds on 2000 random matrices (fixed seed), with C(I + A) <= (1 + a)/(1 - a) whenever a) holds', () => {
    const rand = mulberry32(2018);
    const g = gaussian(rand);
    let applicable = 0;
    const byStructure = new Map<string, number>();
    for (let t = 0; t < 2000; t++) {
      const { a, aBound, structure } = randomCase(rand, g, t);
      const r = remark1Corrected(a, aBound);
      expect(r.assumptionA).toBe(true); // by construction
      expect(r.boundHolds, `case ${t}`).toBe(true);
      expect(r.counterexample, `case ${t}`).toBe(false);
      if (r.assumptionsMet) {
        applicable++;
        byStructure.set(structure, (byStructure.get(structure) ?? 0) + 1);
        expect(r.conclusion).toBe(true);
      }
    }
    // The test must exercise the implication, not only vacuous cases: each structure meets the
    // assumptions in many cases (observed 1814 of 2000; 388-500 per structure).
    expect(applicable).toBeGreaterThan(1000);
    for (const s of ['symmetric', 'nonsymmetric', 'near-singular', 'gaussian']) {
      expect(byStructure.get(s) ?? 0, s).toBeGreaterThan(200);
    }
  });

  it('the printed remark holds for s >= 1/2 (its b) then implies the corrected b) with a = 1 - s)', () => {
    const rand = mulberry32(7);
    const g = gaussian(rand);
    let applicable = 0;
    for (let t = 0; t < 500; t++) {
      const { a } = randomCase(rand, g, t);
      const s = 0.5 + 0.49 * rand();
      const r = remark1AsPrinted(a, s);
      expect(r.counterexample, `case ${t}`).toBe(false);
      if (r.assumptionsMet) applicable++;
    }
    expect(applicable).toBeGreaterThan(20);
  });

  it('the printed remark fails for s < 1/2 on random symmetric A near -(1 - s) I (counterexamples are common)', () => {
    // A = diag(-(1 - s) + small, -x): I + A has a tiny singular value while C(A) is moderate.
    const rand = mulberry32(11);
    let found = 0;
    for (let t = 0; t < 200; t++) {
      const s = 0.05 + 0.4 * rand();
      const big = (1 - s) * (1 - 0.01 * rand());
      const small = big / ((1 + s) / (1 - s) + 0.1 + rand());
      const q = randomOrthogonal(2, rand);
      const a = new Matrix(2, 2);
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++)
          a.set(i, j, -big * q[i * 2] * q[j * 2] - small * q[i * 2 + 1] * q[j * 2 + 1]);
      const r = remark1AsPrinted(a, s);
      expect(r.assumptionsMet).toBe(true);
      if (r.counterexample) found++;
      // Never a counterexample to the corrected statement with a = 1 - s.
      expect(remark1Corrected(a, 1 - s).counterexample).toBe(false);
    }
    expect(found).toBeGreaterThan(100);
  });
});
