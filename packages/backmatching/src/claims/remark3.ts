import { gaussianMatrix } from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';
import { chainBlock } from '../backmatching/chain';
import { localHessianMatrix } from '../hessians/local-hessian';
import { type ClaimCheck, claimCheck, round } from './claim-check';
import { variable } from './hessian-spectrum';

export interface Remark3Setup {
  nIn: number;
  nOut: number;
  m: number;
  seed: number;
  /** BN epsilon of the block. Default 1e-5. */
  epsilon?: number;
}

/**
 * ||w_i||^2 diag(H_w) for every row w_i of a dense + BN block whose inputs z are BN outputs (a Gaussian
 * batch normalised with its own statistics) and whose weights are independent of z. H_w is the exact
 * (autodiff) Hessian of the batch-mean back-matching loss 1/(2m) ||t - BN(Z w)||^2 at zero residual.
 * Remark 3 says the mean is 1 (with this normalisation; eq. 18 as printed sums over the batch).
 */
export function remark3Ratios(setup: Remark3Setup): {
  /** ||w_i||^2 (H_w)_jj, row i, input j at i * nIn + j. */
  ratios: Float64Array;
  /**
   * 1 - w_ij^2 / ||w_i||^2 at the same places: the expectation with BN's scale invariance kept (H_w
   * annihilates w_i, which eq. 18 drops); its mean over j is (n_in - 1)/n_in.
   */
  projected: Float64Array;
} {
  const { nIn, nOut, m, seed } = setup;
  const z = tf.tidy(() => {
    const raw = tf.tensor2d(Float32Array.from(gaussianMatrix(m, nIn, 1, seed)), [m, nIn]);
    const { mean, variance } = tf.moments(raw, [0]);
    return tf.div(tf.sub(raw, mean), tf.sqrt(variance));
  });
  const kernel = Float32Array.from(gaussianMatrix(nIn, nOut, 0.5, seed + 1));
  const w = variable(tf.tensor2d(kernel, [nIn, nOut]), false);
  try {
    const block = chainBlock({
      name: 'remark3',
      weights: [w],
      ops: [
        { op: 'dense', weight: 0 },
        { op: 'batchNorm', epsilon: setup.epsilon ?? 1e-5 },
      ],
      inputShape: [nIn],
    });
    const h = localHessianMatrix({ block, z, wrt: 'W' });
    const ratios = new Float64Array(nIn * nOut);
    const projected = new Float64Array(nIn * nOut);
    for (let i = 0; i < nOut; i++) {
      let norm2 = 0;
      for (let j = 0; j < nIn; j++) norm2 += kernel[j * nOut + i] ** 2;
      for (let j = 0; j < nIn; j++) {
        const k = j * nOut + i; // vec(W) is the kernel row-major: entry (j, i) at j * nOut + i
        ratios[i * nIn + j] = h.data[k * h.dim + k] * norm2;
        projected[i * nIn + j] = 1 - kernel[k] ** 2 / norm2;
      }
    }
    return { ratios, projected };
  } finally {
    tf.dispose([z, w]);
  }
}

/** Remark 3: E diag(H_w) = I / ||w||^2 for BN inputs (batch-mean normalisation). */
export function checkRemark3(options: { seed?: number } = {}): ClaimCheck {
  const seed = options.seed ?? 2018;
  const sizes = { nIn: 32, nOut: 4, m: 512 };
  const { ratios, projected } = remark3Ratios({ ...sizes, seed });
  let mean = 0;
  let worst = 0;
  let worstProjected = 0;
  for (let k = 0; k < ratios.length; k++) {
    mean += ratios[k] / ratios.length;
    worst = Math.max(worst, Math.abs(ratios[k] - 1));
    worstProjected = Math.max(worstProjected, Math.abs(ratios[k] - projected[k]));
  }
  return claimCheck({
    name: 'remark3-expected-diag-hw',
    measured: Math.abs(mean - 1),
    bound: 0.1,
    relation: '<=',
    reference: 'Remark 3 (eq. 18, batch-mean normalisation)',
    description:
      '|mean of ||w_i||^2 diag(H_w) - 1| over all rows and inputs of a dense + BN block with BN-normalised ' +
      'Gaussian inputs (exact H_W by autodiff). Expected 1 - 1/n_in (BN scale invariance removes the ' +
      'direction of w_i, which the remark ignores) plus O(1/sqrt(m n_out)) sampling noise; bound 0.1.',
    seed,
    details: {
      sizes: { ...sizes, entries: ratios.length },
      mean: round(mean),
      expectedWithProjection: round((sizes.nIn - 1) / sizes.nIn),
      maxEntryDeviationFrom1: round(worst),
      maxEntryDeviationFromProjected: round(worstProjected),
    },
  });
}
