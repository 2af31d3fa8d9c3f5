import { Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { mulberry32, randomOrthogonal, remark1AsPrinted, remark1Corrected } from '../src';

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

describe('Remark 1 corrected: sigma_max(A) <= a < 1 and C(A) > (1 + a)/(1 - a) imply C(I + A) < C(A)', () => {
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
