import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import {
  matrixWithSpectrum,
  mulberry32,
  randomOrthogonal,
  symmetricEigen,
  symmetricEigenvalues,
  tridiagonalEigen,
  tridiagonalEigenvalues,
} from '../src';
import { ascending, gaussianMatrix, gram, maxAbsDiff } from './fixtures';

const EPS = 2 ** -52;

/** Eigenvalues from ml-matrix directly (the independent reference), ascending. */
function mlEigenvalues(data: Float64Array, n: number): Float64Array {
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, data[i * n + j]);
  return ascending(new EigenvalueDecomposition(m, { assumeSymmetric: true }).realEigenvalues);
}

function knownSpectrum(n: number, seed: number, kind: 'spread' | 'clustered' | 'repeated' | 'signed') {
  const rand = mulberry32(seed);
  const lambda = Float64Array.from({ length: n }, (_, i) => {
    if (kind === 'spread') return 10 ** (-3 + (6 * i) / (n - 1)); // 1e-3 .. 1e3
    if (kind === 'clustered') return 1 + 1e-6 * i;
    if (kind === 'repeated') return i % 3; // 0, 1, 2 each with multiplicity ~n/3
    return 4 * rand() - 2;
  });
  return { lambda: ascending(lambda), a: matrixWithSpectrum(lambda, randomOrthogonal(n, rand)) };
}

// Both passes of the tridiagonalisation (JavaScript, and WebAssembly SIMD where Node has it) must give
// the same accuracy; 'auto' picks the WebAssembly one from n = 16 on.
describe.each(['js', 'wasm'] as const)(
  'symmetricEigenvalues, %s pass (Householder + implicit QL)',
  (kernel) => {
    it('matches matrices with known spectra Q diag(lambda) Q^T to a few eps * ||A||', () => {
      for (const [n, kind] of [
        [60, 'spread'],
        [50, 'clustered'],
        [45, 'repeated'],
        [80, 'signed'],
      ] as const) {
        const { lambda, a } = knownSpectrum(n, n, kind);
        const got = symmetricEigenvalues({ dim: n, data: a }, { kernel });
        const norm = Math.max(Math.abs(lambda[0]), Math.abs(lambda[n - 1]));
        // Backward stable: |error| <= c n eps ||A||; Q diag Q^T itself carries ~n eps ||A|| rounding.
        // Bound 4 n eps ||A|| (observed <= 0.2 n eps ||A||).
        expect(maxAbsDiff(got, lambda, norm)).toBeLessThan(4 * n * EPS);
      }
    });

    it('agrees with ml-matrix EigenvalueDecomposition on W^T W (eq. 8) and on random symmetric matrices', () => {
      const n = 120;
      const w = gaussianMatrix(60, n, 2 / 60, 7); // rank 60: half the eigenvalues are 0
      const h = gram(w, 60, n);
      const got = symmetricEigenvalues({ dim: n, data: h }, { kernel });
      const ref = mlEigenvalues(h, n);
      // Two backward-stable methods: each within ~n eps ||A|| of the truth, so 4 n eps ||A|| apart at most.
      expect(maxAbsDiff(got, ref, ref[n - 1])).toBeLessThan(4 * n * EPS);
      const rand = mulberry32(3);
      const s = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) s[i * n + j] = s[j * n + i] = 2 * rand() - 1;
      const gotS = symmetricEigenvalues({ dim: n, data: s }, { kernel });
      const refS = mlEigenvalues(s, n);
      const normS = Math.max(-refS[0], refS[n - 1]);
      expect(maxAbsDiff(gotS, refS, normS)).toBeLessThan(4 * n * EPS);
    });

    it('gives the same spectrum for odd and even sizes around the 4-row blocks (17..24, 4 n eps)', () => {
      for (let n = 17; n <= 24; n++) {
        const { lambda, a } = knownSpectrum(n, 100 + n, 'signed');
        const got = symmetricEigenvalues({ dim: n, data: a }, { kernel });
        expect(maxAbsDiff(got, lambda, 2)).toBeLessThan(4 * n * EPS);
      }
    });
  },
);

describe('symmetricEigenvalues', () => {
  it('handles the small and degenerate cases exactly', () => {
    expect(Array.from(symmetricEigenvalues([[5]]))).toEqual([5]);
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3 (by hand); 1e-15 absolute
    const two = symmetricEigenvalues([
      [2, 1],
      [1, 2],
    ]);
    expect(maxAbsDiff(two, [1, 3])).toBeLessThan(1e-15 * 4);
    expect(Array.from(symmetricEigenvalues({ dim: 3, data: new Float64Array(9) }))).toEqual([0, 0, 0]);
    // Diagonal input: no reflector is needed, values come back sorted and exact.
    expect(Array.from(symmetricEigenvalues({ dim: 3, data: [3, 0, 0, 0, -1, 0, 0, 0, 2] }))).toEqual([
      -1, 2, 3,
    ]);
    // ml-matrix input
    expect(
      maxAbsDiff(
        symmetricEigenvalues(
          new Matrix([
            [4, 0],
            [0, 1],
          ]),
        ),
        [1, 4],
      ),
    ).toBe(0);
  });

  it('rejects non-symmetric and non-finite input', () => {
    expect(() =>
      symmetricEigenvalues([
        [1, 2],
        [0, 1],
      ]),
    ).toThrow(/not symmetric/);
    expect(() => symmetricEigenvalues({ dim: 1, data: [Number.NaN] })).toThrow(/non-finite/);
  });
});

describe('tridiagonalEigen', () => {
  it('gives 2 - 2 cos(k pi / (n + 1)) for tridiag(-1, 2, -1) (closed form) with eigenvector rows', () => {
    const n = 40;
    const { values, rows } = tridiagonalEigen(
      new Float64Array(n).fill(2),
      new Float64Array(n - 1).fill(-1),
      [0],
    );
    const exact = Float64Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
    expect(maxAbsDiff(values, exact)).toBeLessThan(16 * n * EPS * 4);
    // Eigenvectors are sqrt(2/(n+1)) sin(j k pi/(n+1)); the first component squared is the Gauss weight.
    for (let k = 0; k < n; k++) {
      const first = Math.sqrt(2 / (n + 1)) * Math.sin(((k + 1) * Math.PI) / (n + 1));
      expect(Math.abs(rows[0][k] ** 2 - first ** 2)).toBeLessThan(1e-13);
    }
  });

  it('full eigenvector rows reproduce T (orthogonal, T V = V diag(values)) to 1e-13', () => {
    const n = 25;
    const rand = mulberry32(5);
    const d = Float64Array.from({ length: n }, () => rand() * 4 - 2);
    const e = Float64Array.from({ length: n - 1 }, () => rand() * 2 - 1);
    const all = Array.from({ length: n }, (_, i) => i);
    const { values, rows } = tridiagonalEigen(d, e, all);
    expect(maxAbsDiff(values, tridiagonalEigenvalues(d, e))).toBe(0);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        const tv =
          d[i] * rows[i][k] +
          (i > 0 ? e[i - 1] * rows[i - 1][k] : 0) +
          (i < n - 1 ? e[i] * rows[i + 1][k] : 0);
        expect(Math.abs(tv - values[k] * rows[i][k])).toBeLessThan(1e-13);
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += rows[i][k] ** 2;
      expect(Math.abs(norm - 1)).toBeLessThan(1e-13);
    }
  });
});

describe('symmetricEigen (ml-matrix, values and vectors)', () => {
  it('reconstructs A = V diag(values) V^T and returns ascending values equal to the known spectrum', () => {
    const n = 30;
    const { lambda, a } = knownSpectrum(n, 11, 'signed');
    const { values, vectors } = symmetricEigen({ dim: n, data: a });
    expect(maxAbsDiff(values, lambda, 2)).toBeLessThan(4 * n * EPS);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += vectors.get(i, k) * values[k] * vectors.get(j, k);
        // 4 n eps ||A|| (||A|| <= 2)
        expect(Math.abs(s - a[i * n + j])).toBeLessThan(8 * n * EPS);
      }
    }
  });
});
