import { orthogonalKernel } from '@bmp/models';
import * as tf from '@tensorflow/tfjs-core';
import { chainBlock } from '../backmatching/chain';
import { type ClaimCheck, claimCheck, round } from './claim-check';
import { localHessianSpectrum, variable } from './hessian-spectrum';

/**
 * Ascending eigenvalues of the autodiff H_z (one sample) of a linear dense block with orthogonal W (orthonormal
 * rows if nOut <= nIn, columns otherwise: @bmp/models' orthogonal initialisation, kernel `[nIn, nOut]`).
 */
export function orthogonalHzSpectrum(nIn: number, nOut: number, seed: number): Float64Array {
  const w = variable(tf.tensor2d(orthogonalKernel(nIn, nOut, seed), [nIn, nOut]), false);
  const z = tf.ones([1, nIn]);
  try {
    const block = chainBlock({
      name: 'orthogonal',
      weights: [w],
      ops: [{ op: 'dense', weight: 0 }],
      inputShape: [nIn],
    });
    return localHessianSpectrum({ block, z, wrt: 'z' });
  } finally {
    tf.dispose([w, z]);
  }
}

/** Orthogonal weights give H_z eigenvalues 1 and 0 only (W^T W is a projection, or I). */
export function checkOrthogonalWeights(options: { seed?: number; nIn?: number } = {}): ClaimCheck {
  const seed = options.seed ?? 2018;
  const nIn = options.nIn ?? 64;
  const bound = 1e-5; // float32 products of an orthogonal W: rounding ~1e-7
  const perC = [0.5, 2].map((c, k) => {
    const nOut = Math.round(c * nIn);
    const ev = orthogonalHzSpectrum(nIn, nOut, seed + k);
    let worst = 0;
    let ones = 0;
    for (const v of ev) {
      worst = Math.max(worst, Math.min(Math.abs(v - 1), Math.abs(v)));
      if (Math.abs(v - 1) < 0.5) ones++;
    }
    return { c, nOut, maxDistanceToZeroOrOne: worst, ones, expectedOnes: Math.min(nIn, nOut) };
  });
  const worst = Math.max(...perC.map((p) => p.maxDistanceToZeroOrOne));
  return claimCheck({
    name: 'orthogonal-weights-eigenvalues-0-1',
    measured: worst,
    bound,
    relation: '<=',
    reference: 'Section 3.1, eq. (8)',
    description:
      `H_z (exact, autodiff, one sample) of a linear dense block with orthogonal W, n_{b-1} = ${nIn}, ` +
      'n_b / n_{b-1} in {0.5, 2}: largest distance of an eigenvalue to {0, 1}; also requires ' +
      'min(n_b, n_{b-1}) eigenvalues at 1 (the rank of W).',
    seed,
    details: {
      sizes: { nIn, batch: 1 },
      perC: perC.map((p) => ({ ...p, maxDistanceToZeroOrOne: round(p.maxDistanceToZeroOrOne) })),
    },
    extra: perC.every((p) => p.ones === p.expectedOnes),
  });
}
