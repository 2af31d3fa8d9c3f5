import { type DenseSymmetricInput, type SymmetrizeOptions, symmetricData } from './dense';
import { householderPassKernel } from './householder-pass-wasm';
import { tridiagonalEigenvalues } from './tridiagonal';

/**
 * Row i of the lower triangle, columns from..i: applies the pending update A -= up qp^T + qp up^T and
 * adds the row's share of p = A u (symmetric: a_ic contributes to p_i and p_c).
 */
function triangleRow(
  a: Float64Array,
  row: number,
  i: number,
  from: number,
  u: Float64Array,
  p: Float64Array,
  up: Float64Array,
  qp: Float64Array,
): void {
  const ui = u[i];
  const pu = up[i];
  const pq = qp[i];
  let s = 0;
  for (let c = from; c < i; c++) {
    const v = a[row + c] - (pu * qp[c] + pq * up[c]);
    a[row + c] = v;
    s += v * u[c];
    p[c] += v * ui;
  }
  const d = a[row + i] - 2 * pu * pq;
  a[row + i] = d;
  p[i] += s + d * ui;
}

/** The vectors of one reduction: u (reflector), p = A u, and the pending update's up, qp. */
interface Workspace {
  a: Float64Array;
  u: Float64Array;
  p: Float64Array;
  up: Float64Array;
  qp: Float64Array;
}

/**
 * p = A u over the leading l x l block (lower triangle), applying the pending update to each row as it is
 * read. Rows go in fours: they share the loads and stores of u, p, up, qp, which bound the speed of this
 * loop in JavaScript (no SIMD): 3.25 memory operations per entry instead of 7 row by row.
 */
function jsPass(w: Workspace, n: number, l: number): void {
  const { a, u, p, up, qp } = w;
  let r = 0;
  for (; r + 3 < l; r += 4) {
    const row0 = r * n;
    const row1 = row0 + n;
    const row2 = row1 + n;
    const row3 = row2 + n;
    const ur0 = u[r];
    const ur1 = u[r + 1];
    const ur2 = u[r + 2];
    const ur3 = u[r + 3];
    const pu0 = up[r];
    const pu1 = up[r + 1];
    const pu2 = up[r + 2];
    const pu3 = up[r + 3];
    const pq0 = qp[r];
    const pq1 = qp[r + 1];
    const pq2 = qp[r + 2];
    const pq3 = qp[r + 3];
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let c = 0; c < r; c++) {
      const qc = qp[c];
      const vc = up[c];
      const v0 = a[row0 + c] - (pu0 * qc + pq0 * vc);
      const v1 = a[row1 + c] - (pu1 * qc + pq1 * vc);
      const v2 = a[row2 + c] - (pu2 * qc + pq2 * vc);
      const v3 = a[row3 + c] - (pu3 * qc + pq3 * vc);
      a[row0 + c] = v0;
      a[row1 + c] = v1;
      a[row2 + c] = v2;
      a[row3 + c] = v3;
      const uc = u[c];
      s0 += v0 * uc;
      s1 += v1 * uc;
      s2 += v2 * uc;
      s3 += v3 * uc;
      p[c] += v0 * ur0 + v1 * ur1 + v2 * ur2 + v3 * ur3;
    }
    p[r] += s0;
    p[r + 1] += s1;
    p[r + 2] += s2;
    p[r + 3] += s3;
  }
  triangles(w, n, l);
}

/** What both passes leave to JavaScript: the 4 x 4 diagonal triangles and the last l mod 4 rows. */
function triangles(w: Workspace, n: number, l: number): void {
  const { a, u, p, up, qp } = w;
  let r = 0;
  for (; r + 3 < l; r += 4) for (let i = r; i < r + 4; i++) triangleRow(a, i * n, i, r, u, p, up, qp);
  for (; r < l; r++) triangleRow(a, r * n, r, 0, u, p, up, qp);
}

/** The reduction proper, on a workspace and with a pass (JavaScript or WebAssembly). */
function reduce(
  w: Workspace,
  n: number,
  pass: (l: number) => void,
): { diag: Float64Array; off: Float64Array } {
  const { a, u, p, up, qp } = w;
  const diag = new Float64Array(n);
  const off = new Float64Array(Math.max(0, n - 1));
  // Pending rank-2 update A -= up qp^T + qp up^T of the previous step on the leading block, applied to
  // each row as the next step reads it. Zero vectors stand for "no update pending" (first step).
  up.fill(0);
  qp.fill(0);

  for (let i = n - 1; i >= 0; i--) {
    const rowI = i * n;
    // Row i (the last row of the active block) must be up to date before it defines the reflector.
    {
      const ur = up[i];
      const qr = qp[i];
      for (let c = 0; c <= i; c++) a[rowI + c] -= ur * qp[c] + qr * up[c];
    }
    diag[i] = a[rowI + i];
    const l = i; // the reflector acts on indices 0..l-1
    if (l === 0) break;
    // x = a[i][0..l-1], scaled by max |x| so that its norm cannot overflow.
    let scale = 0;
    for (let c = 0; c < l; c++) scale = Math.max(scale, Math.abs(a[rowI + c]));
    let sigma = 0;
    if (scale > 0) {
      for (let c = 0; c < l; c++) {
        const x = a[rowI + c] / scale;
        u[c] = x;
        sigma += x * x;
      }
    }
    if (l === 1 || sigma === 0) {
      // Nothing to zero (one entry, or all zero): no reflector. Flush the pending update.
      off[i - 1] = a[rowI + i - 1];
      for (let r = 0; r < l; r++) {
        const row = r * n;
        const ur = up[r];
        const qr = qp[r];
        for (let c = 0; c <= r; c++) a[row + c] -= ur * qp[c] + qr * up[c];
      }
      up.fill(0);
      qp.fill(0);
      continue;
    }
    const norm = Math.sqrt(sigma);
    const alpha = u[l - 1] >= 0 ? -norm : norm;
    off[i - 1] = alpha * scale;
    // H = I - u u^T / h with h = u^T u / 2 maps x to alpha e_{l-1}.
    const h = sigma - u[l - 1] * alpha;
    u[l - 1] -= alpha;

    p.fill(0, 0, l);
    pass(l);
    // p <- A u / h; q = p - K u with K = u^T p / (2 h); A' = A - u q^T - q u^T is left pending.
    let utp = 0;
    for (let c = 0; c < l; c++) {
      p[c] /= h;
      utp += u[c] * p[c];
    }
    const k = utp / (2 * h);
    up.fill(0);
    qp.fill(0);
    for (let c = 0; c < l; c++) {
      qp[c] = p[c] - k * u[c];
      up[c] = u[c];
    }
  }
  return { diag, off };
}

export interface TridiagonalizeOptions {
  /**
   * 'auto' (default): the WebAssembly SIMD pass where available (about twice as fast), else JavaScript;
   * 'js' or 'wasm' to choose (for tests and benchmarks; 'wasm' throws where it is unavailable).
   */
  kernel?: 'auto' | 'js' | 'wasm';
}

/**
 * Householder reduction of a symmetric matrix to tridiagonal form, T = Q^T A Q, without forming Q
 * (EISPACK tred1's job), reading the lower triangle of `a` (row-major, n x n; its contents are
 * unspecified afterwards). Each step reduces the last row of the active leading block, so every inner
 * loop runs over a contiguous row segment, and the rank-2 update of one step is fused with the
 * matrix-vector product of the next, so the active triangle is read once per step instead of twice.
 * About (4/3) n^3 flops. Returns the diagonal (length n) and the off-diagonal (length n - 1, off[i]
 * joins i and i + 1).
 */
export function tridiagonalize(
  a: Float64Array,
  n: number,
  options: TridiagonalizeOptions = {},
): { diag: Float64Array; off: Float64Array } {
  if (a.length < n * n) throw new Error(`tridiagonalize: ${a.length} entries for n = ${n}`);
  const choice = options.kernel ?? 'auto';
  // Below 16 the copy into WebAssembly memory is not worth it.
  const wantWasm = choice === 'wasm' || (choice === 'auto' && n >= 16);
  const bytes = (n * n + 4 * n) * 8;
  const kernel = wantWasm ? householderPassKernel(bytes) : null;
  if (choice === 'wasm' && kernel == null)
    throw new Error('tridiagonalize: WebAssembly SIMD is not available');
  if (kernel == null) {
    const w = {
      a,
      u: new Float64Array(n),
      p: new Float64Array(n),
      up: new Float64Array(n),
      qp: new Float64Array(n),
    };
    return reduce(w, n, (l) => jsPass(w, n, l));
  }
  // Layout in the kernel's memory: a (n * n), then u, p, up, qp (n each), float64.
  const buffer = kernel.memory.buffer;
  const at = (k: number) => 8 * (n * n + k * n);
  const w = {
    a: new Float64Array(buffer, 0, n * n),
    u: new Float64Array(buffer, at(0), n),
    p: new Float64Array(buffer, at(1), n),
    up: new Float64Array(buffer, at(2), n),
    qp: new Float64Array(buffer, at(3), n),
  };
  w.a.set(a.subarray(0, n * n));
  return reduce(w, n, (l) => {
    kernel.pass(0, n, l, at(0), at(1), at(2), at(3));
    triangles(w, n, l);
  });
}

/**
 * Eigenvalues (ascending) of a dense symmetric matrix, without eigenvectors: Householder
 * tridiagonalisation then implicit QL. The fast path for spectra, several times faster than a full
 * decomposition (`symmetricEigen`), which also builds the eigenvectors. Absolute accuracy is about
 * n * eps * ||A||_2 (backward stable), so eigenvalues much smaller than ||A|| have larger relative error.
 */
export function symmetricEigenvalues(
  input: DenseSymmetricInput,
  options: SymmetrizeOptions & TridiagonalizeOptions = {},
): Float64Array {
  const { dim, data } = symmetricData(input, options);
  const { diag, off } = tridiagonalize(data, dim, options);
  return tridiagonalEigenvalues(diag, off);
}
