/**
 * Seeded random numbers for the spectral tools (start vectors, probes) and for building test matrices.
 * The tools use a seeded generator of their own so that results do not depend on tfjs' global seed or on
 * Math.random: the same seed gives the same Lanczos run, the same probes and the same matrices.
 * The generator (Mulberry32) and the one-value-per-call Box-Muller draw are `@bmp/random`'s (re-exported).
 */
import { gaussian, mulberry32 } from '@bmp/random';

export { gaussian, mulberry32 };

/** A rows x cols row-major matrix of i.i.d. N(0, variance) entries from `seed`. */
export function gaussianMatrix(rows: number, cols: number, variance: number, seed: number): Float64Array {
  const g = gaussian(mulberry32(seed));
  const sd = Math.sqrt(variance);
  return Float64Array.from({ length: rows * cols }, () => sd * g());
}

/** A Rademacher vector (entries +-1 with probability 1/2), the probe of Hutchinson and SLQ. */
export function rademacherVector(n: number, rand: () => number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rand() < 0.5 ? -1 : 1;
  return v;
}

/** A vector of i.i.d. N(0, 1) entries. */
export function gaussianVector(n: number, rand: () => number): Float64Array {
  const g = gaussian(rand);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = g();
  return v;
}

/**
 * A Haar-distributed random orthogonal n x n matrix (row-major): Householder QR of a Gaussian matrix
 * with the signs of R's diagonal moved into Q (without that correction Q is not uniformly distributed).
 * Used to build matrices with a prescribed spectrum, Q diag(lambda) Q^T.
 */
export function randomOrthogonal(n: number, rand: () => number): Float64Array {
  const g = gaussian(rand);
  // Columns of Q are built as products of reflectors applied to the identity.
  const a = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) a[i] = g();
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const u = new Float64Array(n);
  const signs = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // Reflector that zeroes column k of a below the diagonal.
    let norm = 0;
    for (let i = k; i < n; i++) norm += a[i * n + k] ** 2;
    norm = Math.sqrt(norm);
    const x0 = a[k * n + k];
    const alpha = x0 >= 0 ? -norm : norm;
    // R[k][k] = alpha; Haar correction multiplies column k of Q by sign(alpha).
    signs[k] = alpha >= 0 ? 1 : -1;
    u.fill(0);
    for (let i = k; i < n; i++) u[i] = a[i * n + k];
    u[k] -= alpha;
    let uu = 0;
    for (let i = k; i < n; i++) uu += u[i] * u[i];
    if (uu === 0) continue;
    const beta = 2 / uu;
    // a <- (I - beta u u^T) a, columns k..n-1
    for (let j = k; j < n; j++) {
      let s = 0;
      for (let i = k; i < n; i++) s += u[i] * a[i * n + j];
      s *= beta;
      for (let i = k; i < n; i++) a[i * n + j] -= s * u[i];
    }
    // q <- q (I - beta u u^T): Q = H_0 H_1 ... H_{n-1}
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = k; j < n; j++) s += q[i * n + j] * u[j];
      s *= beta;
      for (let j = k; j < n; j++) q[i * n + j] -= s * u[j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q[i * n + j] *= signs[j];
  return q;
}

/** Q diag(lambda) Q^T (row-major), a symmetric matrix whose eigenvalues are exactly `lambda`. */
export function matrixWithSpectrum(lambda: ArrayLike<number>, q: Float64Array): Float64Array {
  const n = lambda.length;
  const out = new Float64Array(n * n);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) row[k] = q[i * n + k] * lambda[k];
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += row[k] * q[j * n + k];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}
