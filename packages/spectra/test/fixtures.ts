// Shared inputs of the test files (not a test file itself).
// gaussianMatrix (i.i.d. N(0, variance) entries) and gram (A^T A: eq. 8's H_z = W^T W for a row-major W)
// are the library's own, shared with the claims report.
export { gaussianMatrix, gram } from '../src';

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
