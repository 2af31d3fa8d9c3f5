import { Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import {
  conditionFromEigenvalues,
  conditionFromSingularValues,
  conditionNumber,
  mulberry32,
  randomOrthogonal,
  singularValues,
  symmetricEigenvalues,
} from '../src';

const EPS = 2 ** -52;

/** rows x cols matrix U diag(sigma) V^T with Haar U, V: singular values exactly sigma (up to rounding). */
function withSingularValues(rows: number, cols: number, sigma: number[], seed: number): Matrix {
  const rand = mulberry32(seed);
  const u = randomOrthogonal(rows, rand);
  const v = randomOrthogonal(cols, rand);
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let k = 0; k < sigma.length; k++) s += u[i * rows + k] * sigma[k] * v[j * cols + k];
      m.set(i, j, s);
    }
  }
  return m;
}

describe('condition number C(M) = sigma_max / sigma_min over non-zero singular values', () => {
  it('uses |eigenvalues| of a symmetric matrix and drops values below the rank tolerance', () => {
    // Singular values 4, 2, 1e-20, 0; default tolerance 4 * eps * 4 = 3.6e-15 drops the last two.
    const c = conditionFromEigenvalues([-4, 0, 1e-20, 2]);
    expect(c.rank).toBe(2);
    expect(c.condition).toBe(2);
    expect(c.sigmaMax).toBe(4);
    expect(c.sigmaMin).toBe(2);
    expect(c.rankTolerance).toBe(4 * EPS * 4);
    // An explicit tolerance keeps 1e-20: C = 4 / 1e-20.
    const kept = conditionFromEigenvalues([-4, 0, 1e-20, 2], { rankTolerance: 1e-25 });
    expect(kept.rank).toBe(3);
    expect(kept.condition).toBe(4e20);
  });

  it('is NaN with rank 0 for the zero matrix, and 1 for a multiple of the identity', () => {
    const z = conditionFromSingularValues([0, 0, 0]);
    expect(z.rank).toBe(0);
    expect(Number.isNaN(z.condition)).toBe(true);
    expect(conditionNumber(Matrix.eye(4).mul(3)).condition).toBe(1);
  });

  it('general matrices: recovers prescribed singular values, full rank and rank-deficient, non-square', () => {
    // U diag(sigma) V^T carries rounding ~ few eps * sigma_max: 1e-13 relative on C.
    const full = conditionNumber(withSingularValues(7, 4, [3, 1.5, 1, 0.5], 1));
    expect(full.rank).toBe(4);
    expect(Math.abs(full.condition - 6) / 6).toBeLessThan(1e-13);
    const deficient = conditionNumber(withSingularValues(4, 6, [2, 1, 0, 0], 2));
    expect(deficient.rank).toBe(2);
    expect(Math.abs(deficient.condition - 2) / 2).toBeLessThan(1e-13);
    // Default tolerance uses max(rows, cols) = 6.
    expect(deficient.rankTolerance).toBeCloseTo(6 * EPS * 2, 25);
  });

  it('agrees with sqrt(eig(M^T M)) from the independent dense eigenvalue path', () => {
    const rand = mulberry32(3);
    const rows = 9;
    const cols = 6;
    const m = new Matrix(rows, cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, 2 * rand() - 1);
    const sv = singularValues(m);
    const ev = symmetricEigenvalues(m.transpose().mmul(m));
    const fromEig = Array.from(ev, (x) => Math.sqrt(Math.max(0, x))).sort((a, b) => b - a);
    // sqrt of M^T M eigenvalues loses accuracy ~ eps sigma_max^2 / sigma: 1e-12 relative to sigma_max here.
    for (let i = 0; i < cols; i++) expect(Math.abs(sv[i] - fromEig[i]) / sv[0]).toBeLessThan(1e-12);
    const c = conditionNumber(m);
    expect(Math.abs(c.condition - fromEig[0] / fromEig[cols - 1]) / c.condition).toBeLessThan(1e-10);
  });
});
