import type { Padding, Strides } from '@bmp/hessian';
import { type ExplicitMatrix, gram } from '@bmp/spectra';
import { convPadding, pair } from '../backmatching/ops';

/**
 * Closed forms of the local Hessians (section 3) with the batch-mean normalisation
 * l_b = 1/(2m) ||z_b^{k+1/2} - F_b||^2, as explicit Float64 matrices in the orderings of
 * `localHessianOperator`: z sample-major (`[m, ...inputShape]` row-major), W the tfjs kernel row-major
 * (dense `[nIn, nOut]`: entry (j, i) at j * nOut + i, i.e. the paper's W^T; the paper stacks rows of W, so
 * its block-diagonal I (x) H_w reads H_w (x) I here). Inputs are plain arrays (row-major).
 */

function kron(a: Float64Array, na: number, b: Float64Array, nb: number): ExplicitMatrix {
  const n = na * nb;
  const data = new Float64Array(n * n);
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < na; j++) {
      const aij = a[i * na + j];
      if (aij === 0) continue;
      for (let k = 0; k < nb; k++) {
        for (let l = 0; l < nb; l++) data[(i * nb + k) * n + j * nb + l] = aij * b[k * nb + l];
      }
    }
  }
  return { dim: n, data };
}

function identity(n: number, scale = 1): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = scale;
  return a;
}

/** Biased variance over the rows of column c of `y` (`rows x cols`), the statistic of BN (eq. 16). */
function columnVariances(y: Float64Array, rows: number, cols: number): Float64Array {
  const v = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += y[r * cols + c];
    const mean = s / rows;
    let q = 0;
    for (let r = 0; r < rows; r++) q += (y[r * cols + c] - mean) ** 2;
    v[c] = q / rows;
  }
  return v;
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, p: number): Float64Array {
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const ait = a[i * k + t];
      if (ait === 0) continue;
      for (let j = 0; j < p; j++) out[i * p + j] += ait * b[t * p + j];
    }
  }
  return out;
}

/** Eq. (8) for one sample: W^T W = K K^T (`nIn x nIn`), the matrix the Marchenko-Pastur law (eq. 10-11) describes. */
export function denseHzPerSample(kernel: ArrayLike<number>, nIn: number, nOut: number): ExplicitMatrix {
  return { dim: nIn, data: gram(transpose(kernel, nIn, nOut), nOut, nIn) };
}

/** Eq. (8): H_z = (1/m) I_m (x) W^T W for a dense block (kernel K = W^T, `[nIn, nOut]`): W^T W = K K^T. */
export function denseHz(kernel: ArrayLike<number>, nIn: number, nOut: number, m: number): ExplicitMatrix {
  return kron(identity(m), m, scale(denseHzPerSample(kernel, nIn, nOut).data, 1 / m), nIn);
}

/** Eq. (9): H_vec(W) = (1/m) sum_j z[j] z[j]^T per output row, i.e. (Z^T Z / m) (x) I_nOut in tfjs order. */
export function denseHW(z: ArrayLike<number>, m: number, nIn: number, nOut: number): ExplicitMatrix {
  return kron(scale(gram(z, m, nIn), 1 / m), nIn, identity(nOut), nOut);
}

/**
 * Eq. (17), dense + BN (no affine), 1/m terms ignored: H_z ~ (1/m) I_m (x) sum_i w_i w_i^T / (Var_i + eps),
 * Var_i the batch variance of w_i^T z (eps of the BN layer included; 0 gives the formula as printed).
 */
export function denseBnHz(
  kernel: ArrayLike<number>,
  z: ArrayLike<number>,
  m: number,
  nIn: number,
  nOut: number,
  epsilon = 0,
): ExplicitMatrix {
  const h = denseBnHzPerSample(kernel, z, m, nIn, nOut, epsilon).data;
  return kron(identity(m), m, scale(h, 1 / m), nIn);
}

/**
 * Eq. (17) for one sample: sum_i w_i w_i^T / (Var_i + eps) (`nIn x nIn`), Var_i over the batch `z`
 * (`[m, nIn]`); the matrix of eq. (19)'s Marchenko-Pastur law.
 */
export function denseBnHzPerSample(
  kernel: ArrayLike<number>,
  z: ArrayLike<number>,
  m: number,
  nIn: number,
  nOut: number,
  epsilon = 0,
): ExplicitMatrix {
  const vars = columnVariances(matmul(z, kernel, m, nIn, nOut), m, nOut);
  const inv = Float64Array.from(vars, (v) => 1 / (v + epsilon));
  return { dim: nIn, data: gram(transpose(kernel, nIn, nOut), nOut, nIn, inv) };
}

/**
 * Eq. (18), dense + BN, 1/m terms ignored: row i of W has H_w(i) = (1/m) sum_j z[j] z[j]^T / (Var_i + eps)
 * (eq. 18 as printed sums over the batch; here divided by m). tfjs order: entry ((j, i), (j', i')) =
 * delta_{i i'} (Z^T Z)_{j j'} / (m (Var_i + eps)).
 */
export function denseBnHW(
  kernel: ArrayLike<number>,
  z: ArrayLike<number>,
  m: number,
  nIn: number,
  nOut: number,
  epsilon = 0,
): ExplicitMatrix {
  const vars = columnVariances(matmul(z, kernel, m, nIn, nOut), m, nOut);
  const ztz = gram(z, m, nIn);
  const n = nIn * nOut;
  const data = new Float64Array(n * n);
  for (let j = 0; j < nIn; j++) {
    for (let jj = 0; jj < nIn; jj++) {
      for (let i = 0; i < nOut; i++)
        data[(j * nOut + i) * n + jj * nOut + i] = ztz[j * nIn + jj] / (m * (vars[i] + epsilon));
    }
  }
  return { dim: n, data };
}

function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

function scale(a: Float64Array, s: number): Float64Array {
  return a.map((v) => v * s);
}

export interface ConvGeometry {
  /** Per-sample input shape `[H, W, cIn]`. */
  inputShape: [number, number, number];
  /** Kernel shape `[kh, kw, cIn, cOut]`. */
  kernelShape: [number, number, number, number];
  strides?: Strides;
  padding?: Padding;
}

function geometry(g: ConvGeometry) {
  const [h, w, cIn] = g.inputShape;
  const [kh, kw, , cOut] = g.kernelShape;
  const s = pair(g.strides);
  const [top, , left] = convPadding(h, w, kh, kw, s, g.padding ?? 'same');
  const [, bottom, , right] = convPadding(h, w, kh, kw, s, g.padding ?? 'same');
  const ho = Math.floor((h + top + bottom - kh) / s[0]) + 1;
  const wo = Math.floor((w + left + right - kw) / s[1]) + 1;
  return { h, w, cIn, kh, kw, cOut, s, top, left, ho, wo };
}

/**
 * The unrolled convolution operator U (`(ho * wo * cOut) x (H * W * cIn)`, row-major, rows (position,
 * cOut), columns (position, cIn)) with conv(z) = U z for one sample: the matrix eq. (8) and (17) are
 * applied to for conv blocks.
 */
export function unrolledConv(
  kernel: ArrayLike<number>,
  g: ConvGeometry,
): { rows: number; cols: number; data: Float64Array } {
  const { h, w, cIn, kh, kw, cOut, s, top, left, ho, wo } = geometry(g);
  const rows = ho * wo * cOut;
  const cols = h * w * cIn;
  const data = new Float64Array(rows * cols);
  for (let oh = 0; oh < ho; oh++) {
    for (let ow = 0; ow < wo; ow++) {
      for (let a = 0; a < kh; a++) {
        const ih = oh * s[0] - top + a;
        if (ih < 0 || ih >= h) continue;
        for (let b = 0; b < kw; b++) {
          const iw = ow * s[1] - left + b;
          if (iw < 0 || iw >= w) continue;
          for (let ci = 0; ci < cIn; ci++) {
            for (let co = 0; co < cOut; co++) {
              data[((oh * wo + ow) * cOut + co) * cols + (ih * w + iw) * cIn + ci] =
                kernel[((a * kw + b) * cIn + ci) * cOut + co];
            }
          }
        }
      }
    }
  }
  return { rows, cols, data };
}

/** im2col: the patches of a batch (`[m, H, W, cIn]` row-major) as rows `(m * ho * wo) x (kh * kw * cIn)`, zero outside the map. */
export function im2col(
  z: ArrayLike<number>,
  m: number,
  g: ConvGeometry,
): { rows: number; cols: number; data: Float64Array } {
  const { h, w, cIn, kh, kw, s, top, left, ho, wo } = geometry(g);
  const cols = kh * kw * cIn;
  const rows = m * ho * wo;
  const data = new Float64Array(rows * cols);
  for (let n = 0; n < m; n++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const r = (n * ho + oh) * wo + ow;
        for (let a = 0; a < kh; a++) {
          const ih = oh * s[0] - top + a;
          if (ih < 0 || ih >= h) continue;
          for (let b = 0; b < kw; b++) {
            const iw = ow * s[1] - left + b;
            if (iw < 0 || iw >= w) continue;
            for (let ci = 0; ci < cIn; ci++)
              data[r * cols + (a * kw + b) * cIn + ci] = z[((n * h + ih) * w + iw) * cIn + ci];
          }
        }
      }
    }
  }
  return { rows, cols, data };
}

/** Eq. (8) on the unrolled operator: H_z = (1/m) I_m (x) U^T U for a conv block without BN. */
export function convHz(kernel: ArrayLike<number>, g: ConvGeometry, m: number): ExplicitMatrix {
  const u = unrolledConv(kernel, g);
  return kron(identity(m), m, scale(gram(u.data, u.rows, u.cols), 1 / m), u.cols);
}

/** Eq. (9) on the unrolled operator: H_W = (P^T P / m) (x) I_cOut, P the im2col patches (tfjs kernel order). */
export function convHW(z: ArrayLike<number>, m: number, g: ConvGeometry): ExplicitMatrix {
  const p = im2col(z, m, g);
  return kron(
    scale(gram(p.data, p.rows, p.cols), 1 / m),
    p.cols,
    identity(g.kernelShape[3]),
    g.kernelShape[3],
  );
}

/** Per output channel, the variance over batch and positions of the convolution output (BN's statistic). */
function convOutputVariances(
  kernel: ArrayLike<number>,
  z: ArrayLike<number>,
  m: number,
  g: ConvGeometry,
): Float64Array {
  const p = im2col(z, m, g);
  const cOut = g.kernelShape[3];
  const y = matmul(p.data, kernel, p.rows, p.cols, cOut);
  return columnVariances(y, p.rows, cOut);
}

/** Eq. (17) on the unrolled operator (conv + BN): H_z ~ (1/m) I_m (x) U^T diag(1/(Var_co + eps)) U. */
export function convBnHz(
  kernel: ArrayLike<number>,
  z: ArrayLike<number>,
  m: number,
  g: ConvGeometry,
  epsilon = 0,
): ExplicitMatrix {
  const vars = convOutputVariances(kernel, z, m, g);
  const u = unrolledConv(kernel, g);
  const cOut = g.kernelShape[3];
  const rowWeight = Float64Array.from({ length: u.rows }, (_, r) => 1 / (vars[r % cOut] + epsilon));
  return kron(identity(m), m, scale(gram(u.data, u.rows, u.cols, rowWeight), 1 / m), u.cols);
}

/** Eq. (18) on the unrolled operator (conv + BN): filter co has H_w = P^T P / (m (Var_co + eps)). */
export function convBnHW(
  kernel: ArrayLike<number>,
  z: ArrayLike<number>,
  m: number,
  g: ConvGeometry,
  epsilon = 0,
): ExplicitMatrix {
  const vars = convOutputVariances(kernel, z, m, g);
  const p = im2col(z, m, g);
  const ptp = gram(p.data, p.rows, p.cols);
  const cOut = g.kernelShape[3];
  const n = p.cols * cOut;
  const data = new Float64Array(n * n);
  for (let j = 0; j < p.cols; j++) {
    for (let jj = 0; jj < p.cols; jj++) {
      for (let co = 0; co < cOut; co++)
        data[(j * cOut + co) * n + jj * cOut + co] = ptp[j * p.cols + jj] / (m * (vars[co] + epsilon));
    }
  }
  return { dim: n, data };
}

/**
 * The Gauss-Newton part of eq. (13) for a residual block z_b = S z_{b-1} + phi(z_{b-1}) over the batch:
 * (1/m) (S_m + D)^T (S_m + D), S_m = I_m (x) S (S = I for an identity skip, `skip` null), D the batch
 * Jacobian d vec(phi) / d vec(z) (`dim x dim`, row-major; from `jacobian` by autodiff).
 * `skip` is the per-sample matrix S (paper orientation, `n x n` row-major, z_b = S z).
 */
export function residualGaussNewtonZ(
  phiJacobian: ArrayLike<number>,
  dim: number,
  m: number,
  skip: ArrayLike<number> | null,
): ExplicitMatrix {
  const n = dim / m;
  const a = Float64Array.from(phiJacobian);
  for (let s = 0; s < m; s++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const sij = skip == null ? (i === j ? 1 : 0) : skip[i * n + j];
        a[(s * n + i) * dim + s * n + j] += sij;
      }
    }
  }
  return { dim, data: scale(gram(a, dim, dim), 1 / m) };
}
