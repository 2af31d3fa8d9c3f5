/**
 * Eigenvalues of a symmetric tridiagonal matrix by the implicit QL algorithm with Wilkinson shifts
 * (EISPACK tql1/tql2, as in JAMA). It is the last step of the dense eigenvalue path and the inner solver
 * of Lanczos and stochastic Lanczos quadrature, which need only a few rows of the eigenvector matrix
 * (the first row for quadrature weights, the last for residuals): tracking just those rows costs O(n) per
 * rotation instead of the O(n^2) of full eigenvectors.
 */

const EPS = 2 ** -52;
/** QL sweeps allowed per eigenvalue before giving up (typically 1-3 are needed). */
const MAX_SWEEPS = 100;

/**
 * sqrt(a^2 + b^2) without the scaling of Math.hypot (variadic and slow in V8). Safe here because the
 * matrix is scaled to max |entry| = 1 first: rotations only meet values far from overflow, and the
 * off-diagonal entries they see are above eps (negligible ones split the matrix), so no underflow.
 */
function hypot(a: number, b: number): number {
  return Math.sqrt(a * a + b * b);
}

export interface TridiagonalEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /**
   * For each requested row index r (in the order given), `rows[k][i]` is component r of the unit
   * eigenvector of `values[i]`.
   */
  rows: Float64Array[];
}

/**
 * Eigenvalues (ascending) and selected rows of the eigenvector matrix of the symmetric tridiagonal
 * matrix with diagonal `diag` (length n) and off-diagonal `off` (length n - 1, off[i] joins i and i+1).
 * Pass every index 0..n-1 in `rows` for the full eigenvector matrix. Inputs are not modified.
 */
export function tridiagonalEigen(
  diag: ArrayLike<number>,
  off: ArrayLike<number>,
  rows: readonly number[] = [],
): TridiagonalEigen {
  const n = diag.length;
  if (n === 0) return { values: new Float64Array(0), rows: rows.map(() => new Float64Array(0)) };
  if (off.length < n - 1)
    throw new Error(`tridiagonalEigen: ${off.length} off-diagonal entries for n = ${n}`);
  // Scale to max |entry| = 1 (see hypot); the eigenvalues are scaled back at the end.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(diag[i]));
  for (let i = 0; i < n - 1; i++) norm = Math.max(norm, Math.abs(off[i]));
  if (!Number.isFinite(norm)) throw new Error('tridiagonalEigen: non-finite entry');
  const scale = norm > 0 ? norm : 1;
  const d = Float64Array.from(diag, (x) => x / scale);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = off[i] / scale;
  const z = rows.map((r) => {
    if (!(r >= 0 && r < n)) throw new Error(`tridiagonalEigen: row ${r} out of range for n = ${n}`);
    const zr = new Float64Array(n);
    zr[r] = 1;
    return zr;
  });
  const nz = z.length;

  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    // Split where a sub-diagonal entry is negligible next to the matrix seen so far.
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > EPS * tst1) m++;
    if (m > l) {
      let sweeps = 0;
      do {
        if (++sweeps > MAX_SWEEPS) throw new Error('tridiagonalEigen: QL iteration did not converge');
        // Wilkinson shift from the leading 2x2 block, accumulated in f.
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        // Implicit QL sweep: chase the bulge from m up to l with Givens rotations.
        p = d[m];
        let c = 1;
        let c2 = 1;
        let c3 = 1;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < nz; k++) {
            const zk = z[k];
            const t = zk[i + 1];
            zk[i + 1] = s * zk[i] + c * t;
            zk[i] = c * zk[i] - s * t;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > EPS * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }

  // Sort ascending, carrying the tracked rows along (a plain numeric sort when there are none).
  if (nz === 0) {
    const values = d.sort();
    for (let i = 0; i < n; i++) values[i] *= scale;
    return { values, rows: [] };
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a] - d[b]);
  const values = Float64Array.from(order, (i) => d[i] * scale);
  return { values, rows: z.map((zr) => Float64Array.from(order, (i) => zr[i])) };
}

/** Eigenvalues (ascending) of a symmetric tridiagonal matrix; see `tridiagonalEigen`. */
export function tridiagonalEigenvalues(diag: ArrayLike<number>, off: ArrayLike<number>): Float64Array {
  return tridiagonalEigen(diag, off).values;
}
