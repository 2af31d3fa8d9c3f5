// Shared inputs of the spectra-*.test.ts files (not a test file itself).
import { gaussian, mulberry32 } from '../src/spectra';

/** rows x cols row-major matrix of i.i.d. N(0, variance) entries from `seed`. */
export function gaussianMatrix(rows: number, cols: number, variance: number, seed: number): Float64Array {
  const g = gaussian(mulberry32(seed));
  const sd = Math.sqrt(variance);
  return Float64Array.from({ length: rows * cols }, () => sd * g());
}

/** W^T W (cols x cols, row-major) of a rows x cols row-major W: eq. (8)'s H_z for W = W_b. */
export function gram(w: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols * cols);
  for (let k = 0; k < rows; k++) {
    const off = k * cols;
    for (let i = 0; i < cols; i++) {
      const wi = w[off + i];
      if (wi === 0) continue;
      const row = i * cols;
      for (let j = 0; j <= i; j++) out[row + j] += wi * w[off + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) out[j * cols + i] = out[i * cols + j];
  return out;
}

export function ascending(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Largest |a_i - b_i| / scale. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  return worst;
}
