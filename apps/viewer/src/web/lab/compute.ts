import { orthogonalKernel } from '@bmp/models';
import {
  conditionFromEigenvalues,
  gaussian,
  ksDistance,
  type MarchenkoPasturLaw,
  marchenkoPastur,
  mulberry32,
  randomOrthogonal,
  symmetricEigenvalues,
} from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';

export type InitKind = 'gaussian' | 'orthogonal';
export type SkipKind = 'none' | 'identity' | 'orthogonal' | 'non-orthogonal';

export interface LabSettings {
  /** n_{b-1}: inputs of the block. */
  nIn: number;
  /** n_b: outputs. */
  nOut: number;
  /** Batch size of the BN statistics. */
  batch: number;
  init: InitKind;
  /** Gaussian: entries N(0, scale^2 / nIn); orthogonal: scale times a (semi-)orthogonal matrix. */
  scale: number;
  batchNorm: boolean;
  skip: SkipKind;
  seed: number;
}

/** BN's epsilon, as in the usual BN layers. */
export const BN_EPSILON = 1e-5;

/** Why a setting cannot be computed, or null. */
export function settingsProblem(s: LabSettings): string | null {
  for (const [k, v] of [
    ['n_in', s.nIn],
    ['n_out', s.nOut],
    ['batch', s.batch],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 1024) return `${k} must be an integer from 1 to 1024 (got ${v})`;
  }
  if (!(s.scale > 0) || !Number.isFinite(s.scale)) return `weight scale must be > 0 (got ${s.scale})`;
  if (s.skip !== 'none' && s.nIn !== s.nOut)
    return `a skip connection needs n_in = n_out (got ${s.nIn} and ${s.nOut})`;
  if (s.batchNorm && s.batch < 2) return 'BN needs a batch of at least 2';
  return null;
}

/**
 * W (`nOut x nIn` row-major) with orthonormal rows (nOut <= nIn) or columns, times `scale`: @bmp/models'
 * orthogonal initialisation (its kernel is W^T), seeded from the lab's stream.
 */
function orthogonalWeights(nOut: number, nIn: number, scale: number, rand: () => number): Float32Array {
  const kernel = orthogonalKernel(nIn, nOut, Math.floor(rand() * 4294967296), scale);
  const w = new Float32Array(nOut * nIn);
  for (let r = 0; r < nOut; r++) for (let c = 0; c < nIn; c++) w[r * nIn + c] = kernel[c * nOut + r];
  return w;
}

/**
 * The skip matrix S of z_b = S z_{b-1} + phi(z_{b-1}): identity, a random orthogonal matrix, or a
 * non-orthogonal one Q1 diag(d) Q2^T with singular values d spread evenly over [0.25, 1.75] (mean 1,
 * like an orthogonal matrix's, but not all equal).
 */
function skipMatrix(kind: SkipKind, n: number, rand: () => number): Float32Array | null {
  if (kind === 'none') return null;
  if (kind === 'identity') {
    const s = new Float32Array(n * n);
    for (let i = 0; i < n; i++) s[i * n + i] = 1;
    return s;
  }
  const q1 = randomOrthogonal(n, rand);
  if (kind === 'orthogonal') return Float32Array.from(q1);
  const q2 = randomOrthogonal(n, rand);
  const s = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let v = 0;
      for (let k = 0; k < n; k++)
        v += q1[i * n + k] * (n === 1 ? 1 : 0.25 + (1.5 * k) / (n - 1)) * q2[j * n + k];
      s[i * n + j] = v;
    }
  }
  return s;
}

export interface LabResult {
  /** tfjs backend the matrices were computed on. */
  backend: string;
  /** What the spectrum is of, in words. */
  matrix: string;
  dim: number;
  eigenvalues: Float64Array;
  condition: number;
  rank: number;
  rankTolerance: number;
  law: MarchenkoPasturLaw | null;
  lawNote: string;
  ksDistance: number | null;
  /** ms on the tfjs backend (matrix built and read back) and in the eigensolver. */
  tensorMs: number;
  eigenMs: number;
  /** tf.memory().numTensors before and after (equal: nothing leaked). */
  tensorsBefore: number;
  tensorsAfter: number;
}

export interface LabMatrices {
  /** W, `nOut x nIn` row-major (the paper's orientation). */
  w: Float32Array;
  /** The BN batch (`batch x nIn`), when BN is on. */
  z: Float32Array | null;
  /** S (`n x n`), when there is a skip connection. */
  skip: Float32Array | null;
  /** The local Hessian, `nIn x nIn` row-major. */
  h: Float32Array;
}

/** Builds W (and the BN batch, S) and the local Hessian on the current tfjs backend; see computeLab. */
export async function labMatrices(s: LabSettings): Promise<LabMatrices> {
  const problem = settingsProblem(s);
  if (problem) throw new Error(problem);
  const rand = mulberry32(s.seed);
  const g = gaussian(rand);
  const w =
    s.init === 'orthogonal'
      ? orthogonalWeights(s.nOut, s.nIn, s.scale, rand)
      : Float32Array.from({ length: s.nOut * s.nIn }, () => (g() * s.scale) / Math.sqrt(s.nIn));
  const skip = skipMatrix(s.skip, s.nIn, rand);
  const z = s.batchNorm ? Float32Array.from({ length: s.batch * s.nIn }, () => g()) : null;
  const hTensor = tf.tidy(() => {
    const W = tf.tensor2d(w, [s.nOut, s.nIn]);
    let J: tf.Tensor2D = W;
    let D: tf.Tensor | null = null;
    if (z) {
      const { variance } = tf.moments(tf.matMul(tf.tensor2d(z, [s.batch, s.nIn]), W, false, true), 0);
      D = tf.add(variance, BN_EPSILON);
    }
    if (skip) {
      if (D) J = tf.div(W, tf.reshape(tf.sqrt(D), [s.nOut, 1]));
      const a = tf.add(tf.tensor2d(skip, [s.nIn, s.nIn]), J);
      return tf.matMul(a, a, true, false);
    }
    if (D) return tf.matMul(W, tf.div(W, tf.reshape(D, [s.nOut, 1])), true, false);
    return tf.matMul(W, W, true, false);
  });
  try {
    return { w, z, skip, h: (await hTensor.data()) as Float32Array };
  } finally {
    hTensor.dispose();
  }
}

/**
 * The local Hessian H_z of one block, built with tfjs on the current backend (section 3):
 * - dense block: H_z = W^T W (eq. 8, per sample; the batch Hessian is (1/m) I_m (x) this);
 * - with BN (no affine, eq. 17 without the 1/m terms): W^T diag(1 / (Var_i + eps)) W, Var_i the batch
 *   variance of w_i^T z over a standard Gaussian batch;
 * - with a skip connection (eq. 13, Gauss-Newton part): (S + J)^T (S + J), J the Jacobian of phi (W, or
 *   diag(1 / sqrt(Var_i + eps)) W with BN).
 * Eigenvalues by @bmp/spectra's symmetric solver in float64, condition number over the non-zero
 * singular values (tolerance dim * 2^-23 * sigma_max: the matrix is float32), and the Marchenko-Pastur
 * law of eq. 10-11 (eq. 19 with BN) for the blocks it describes.
 */
export async function computeLab(s: LabSettings): Promise<LabResult> {
  const tensorsBefore = tf.memory().numTensors;
  const t0 = performance.now();
  const { h: data } = await labMatrices(s);
  const t1 = performance.now();
  const eigenvalues = symmetricEigenvalues({ dim: s.nIn, data: Float64Array.from(data) });
  const t2 = performance.now();
  let maxAbs = 0;
  for (const v of eigenvalues) maxAbs = Math.max(maxAbs, Math.abs(v));
  const cond = conditionFromEigenvalues(eigenvalues, { rankTolerance: s.nIn * 2 ** -23 * maxAbs });
  const c = s.nOut / s.nIn;
  let law: MarchenkoPasturLaw | null = null;
  let lawNote: string;
  if (s.skip !== 'none') lawNote = 'no closed-form law for a residual block (the paper gives none)';
  else if (s.batchNorm) {
    law = marchenkoPastur({ c, sigma2: c });
    lawNote = 'eq. 19: with BN, sigma2 = c whatever the weight scale';
  } else {
    law = marchenkoPastur({ c, sigma2: (s.nOut * (s.scale * s.scale)) / s.nIn });
    lawNote =
      s.init === 'gaussian'
        ? 'eq. 10-11 with sigma2 = n_b x entry variance'
        : 'eq. 10-11 for Gaussian weights of this scale; an orthogonal W has eigenvalues scale^2 and 0 instead (section 3.1)';
  }
  return {
    backend: tf.getBackend(),
    matrix: s.skip !== 'none' ? '(S + J)^T (S + J)' : s.batchNorm ? 'W^T diag(1/(Var+eps)) W' : 'W^T W',
    dim: s.nIn,
    eigenvalues,
    condition: cond.condition,
    rank: cond.rank,
    rankTolerance: cond.rankTolerance,
    law,
    lawNote,
    ksDistance: law ? ksDistance(eigenvalues, law, { zeroTolerance: cond.rankTolerance }).distance : null,
    tensorMs: t1 - t0,
    eigenMs: t2 - t1,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
}
