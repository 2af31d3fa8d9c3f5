import { gaussian, mulberry32, remark1AsPrinted, remark1Corrected } from '@bmp/spectra';
import { describe, expect, it } from 'vitest';
import { randomRemark1Case } from '../src/claims';

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
});
