/**
 * A^T D A (`cols x cols`, row-major) for A `rows x cols` (row-major) and a diagonal weight per row
 * (default 1): eq. (8)'s W^T W, eq. (9)'s Z^T Z, and the Gauss-Newton J^T J. Only the lower triangle is
 * accumulated (half the work), then mirrored, so the result is exactly symmetric.
 */
export function gram(
  a: ArrayLike<number>,
  rows: number,
  cols: number,
  rowWeight?: ArrayLike<number>,
): Float64Array {
  if (a.length !== rows * cols) throw new Error(`gram: ${a.length} entries for ${rows} x ${cols}`);
  const g = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const w = rowWeight == null ? 1 : rowWeight[r];
    const base = r * cols;
    for (let i = 0; i < cols; i++) {
      const ai = a[base + i] * w;
      if (ai === 0) continue;
      const row = i * cols;
      for (let j = 0; j <= i; j++) g[row + j] += ai * a[base + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[j * cols + i] = g[i * cols + j];
  return g;
}
