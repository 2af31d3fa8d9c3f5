/**
 * Thin QR decomposition by Householder reflections (float64, row-major), used for orthogonal
 * initialisation: Q of a Gaussian matrix, with the signs fixed by diag(R) so that Q is Haar
 * distributed (Mezzadri 2007; the same recipe as PyTorch's `nn.init.orthogonal_`).
 */

/**
 * Returns Q (`rows x cols`, `rows >= cols`, orthonormal columns) of the thin QR decomposition of the
 * row-major matrix `a`, each column multiplied by the sign of the matching diagonal entry of R.
 */
export function haarQ(a: Float64Array, rows: number, cols: number): Float64Array {
  if (rows < cols) throw new RangeError(`haarQ needs rows >= cols, got ${rows} x ${cols}`);
  if (a.length !== rows * cols) throw new RangeError(`haarQ: ${a.length} values for ${rows} x ${cols}`);
  const r = Float64Array.from(a);
  const reflectors: Float64Array[] = [];
  const diag = new Float64Array(cols);
  const dots = new Float64Array(cols);
  for (let k = 0; k < cols; k++) {
    let norm2 = 0;
    for (let i = k; i < rows; i++) norm2 += r[i * cols + k] ** 2;
    const norm = Math.sqrt(norm2);
    const x0 = r[k * cols + k];
    const alpha = x0 >= 0 ? -norm : norm;
    const hv = new Float64Array(rows - k);
    for (let i = k; i < rows; i++) hv[i - k] = r[i * cols + k];
    hv[0] -= alpha;
    let vnorm2 = 0;
    for (let i = 0; i < hv.length; i++) vnorm2 += hv[i] * hv[i];
    if (vnorm2 > 0) {
      const inv = 1 / Math.sqrt(vnorm2);
      for (let i = 0; i < hv.length; i++) hv[i] *= inv;
      // R[k:, k:] -= 2 v (v^T R[k:, k:])
      dots.fill(0, k);
      for (let i = k; i < rows; i++) {
        const vi = hv[i - k];
        if (vi === 0) continue;
        const row = i * cols;
        for (let j = k; j < cols; j++) dots[j] += vi * r[row + j];
      }
      for (let i = k; i < rows; i++) {
        const vi = 2 * hv[i - k];
        if (vi === 0) continue;
        const row = i * cols;
        for (let j = k; j < cols; j++) r[row + j] -= vi * dots[j];
      }
    }
    diag[k] = r[k * cols + k];
    reflectors.push(vnorm2 > 0 ? hv : new Float64Array(0));
  }
  // Q = H_0 H_1 ... H_{cols-1} I[:, :cols], applied right to left.
  const q = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) q[j * cols + j] = 1;
  for (let k = cols - 1; k >= 0; k--) {
    const hv = reflectors[k];
    if (hv.length === 0) continue;
    dots.fill(0);
    for (let i = k; i < rows; i++) {
      const vi = hv[i - k];
      if (vi === 0) continue;
      const row = i * cols;
      for (let j = 0; j < cols; j++) dots[j] += vi * q[row + j];
    }
    for (let i = k; i < rows; i++) {
      const vi = 2 * hv[i - k];
      if (vi === 0) continue;
      const row = i * cols;
      for (let j = 0; j < cols; j++) q[row + j] -= vi * dots[j];
    }
  }
  for (let j = 0; j < cols; j++) {
    if (diag[j] < 0) for (let i = 0; i < rows; i++) q[i * cols + j] = -q[i * cols + j];
  }
  return q;
}
