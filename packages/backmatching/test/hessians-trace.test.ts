import { countingOperator, type SymmetricOperator } from '@bmp/spectra';
import { describe, expect, it } from 'vitest';
import { operatorTrace } from '../src/hessians/trace';

/** diag(1, 2, ..., n) as an operator: trace n (n + 1) / 2 by hand. */
function diagonal(n: number): SymmetricOperator {
  return { dim: n, apply: (v) => Float64Array.from(v, (x, i) => (i + 1) * x) };
}

describe('operatorTrace', () => {
  it('is exact up to exactMaxDim, for thousands of dimensions too (one product per basis vector, progress per chunk)', () => {
    const n = 1500;
    const op = countingOperator(diagonal(n));
    const progress: number[] = [];
    const t = operatorTrace(op, {
      exactMaxDim: 4096,
      onProgress: (done, total) => progress.push(done / total),
    });
    expect(t.method).toBe('exact');
    expect(t.trace).toBe((n * (n + 1)) / 2); // integers: exact in float64
    expect(t.standardError).toBe(0);
    expect(t.products).toBe(n);
    expect(op.count).toBe(n);
    expect(progress).toHaveLength(Math.ceil(n / 256));
    expect(progress[progress.length - 1]).toBe(1);
  });

  it('above exactMaxDim: Hutchinson, labelled, within 4 standard errors of the true trace', () => {
    const n = 300; // default exactMaxDim 256
    // diag(i + 1): Rademacher probes give v^T D v = trace exactly for a diagonal D, so use D + a rank-one
    // term u u^T (u = 1/sqrt(n) * ones): trace n (n + 1)/2 + 1, Hutchinson variance 2 ||offdiag||_F^2.
    const op: SymmetricOperator = {
      dim: n,
      apply: (v) => {
        let s = 0;
        for (const x of v) s += x / n;
        return Float64Array.from(v, (x, i) => (i + 1) * x + s);
      },
    };
    const t = operatorTrace(op, { probes: 64, seed: 3 });
    expect(t.method).toBe('hutchinson');
    expect(t.products).toBe(64);
    const exact = (n * (n + 1)) / 2 + 1;
    expect(Math.abs(t.trace - exact)).toBeLessThan(4 * t.standardError + 1e-9 * exact);
  });
});
