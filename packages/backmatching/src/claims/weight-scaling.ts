import { gaussianMatrix } from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';
import { chainBlock } from '../backmatching/chain';
import { type ClaimCheck, claimCheck, maxSpectrumDifference, round } from './claim-check';
import { localHessianSpectrum, variable } from './hessian-spectrum';

export interface ScalingSetup {
  nIn: number;
  nOut: number;
  /** Batch size m. */
  m: number;
  batchNorm: boolean;
  seed: number;
}

/**
 * Ascending eigenvalues of H_z (Gauss-Newton = exact at zero residual, autodiff, whole batch) of a dense
 * block (BN without affine, eps = 0, when `batchNorm`) for the same Gaussian kernel scaled by each of
 * `scales`, on the same Gaussian batch. eps = 0 because eq. (17) and Remark 2 have none (with eps > 0
 * the invariance holds only for scales with scale^2 Var >> eps).
 */
export function hzSpectraUnderScaling(setup: ScalingSetup, scales: readonly number[]): Float64Array[] {
  const { nIn, nOut, m, batchNorm, seed } = setup;
  const z = tf.tensor2d(Float32Array.from(gaussianMatrix(m, nIn, 1, seed)), [m, nIn]);
  const base = gaussianMatrix(nIn, nOut, 1 / nIn, seed + 1);
  try {
    return scales.map((scale) => {
      const w = variable(
        tf.tensor2d(
          Float32Array.from(base, (v) => v * scale),
          [nIn, nOut],
        ),
        false,
      );
      try {
        const block = chainBlock({
          name: 'scaled',
          weights: [w],
          ops: batchNorm
            ? [
                { op: 'dense', weight: 0 },
                { op: 'batchNorm', epsilon: 0 },
              ]
            : [{ op: 'dense', weight: 0 }],
          inputShape: [nIn],
        });
        return localHessianSpectrum({ block, z, wrt: 'z', form: 'gauss-newton' });
      } finally {
        w.dispose();
      }
    });
  } finally {
    z.dispose();
  }
}

const SIZES = { nIn: 16, nOut: 12, m: 8 };
const SCALE = 3;
/** float32 autodiff products: eigenvalues agree to ~1e-6 of the largest; bound 1e-4. */
const BOUND = 1e-4;

/** Remark 2: with BN, the H_z spectrum does not change when the weights are scaled. */
export function checkRemark2(options: { seed?: number } = {}): ClaimCheck {
  const seed = options.seed ?? 2018;
  const [base, scaled] = hzSpectraUnderScaling({ ...SIZES, batchNorm: true, seed }, [1, SCALE]);
  const top = base[base.length - 1];
  return claimCheck({
    name: 'remark2-bn-scale-invariance',
    measured: maxSpectrumDifference(scaled, base, top),
    bound: BOUND,
    relation: '<=',
    reference: 'Remark 2 (eq. 17)',
    description:
      `H_z of a dense + BN block (eps = 0), weights scaled by ${SCALE}: largest change of an eigenvalue, ` +
      'relative to the largest eigenvalue (float32 autodiff).',
    seed,
    details: { sizes: { ...SIZES, dim: base.length }, scale: SCALE, largestEigenvalue: round(top) },
  });
}

/** Without BN, the H_z spectrum scales with sigma^2 (eq. 8: H_z = W^T W / m). */
export function checkNoBatchNormScaling(options: { seed?: number } = {}): ClaimCheck {
  const seed = options.seed ?? 2018;
  const [base, scaled] = hzSpectraUnderScaling({ ...SIZES, batchNorm: false, seed }, [1, SCALE]);
  const s2 = SCALE * SCALE;
  const expected = Float64Array.from(base, (v) => s2 * v);
  const top = expected[expected.length - 1];
  return claimCheck({
    name: 'no-bn-spectrum-scales-with-sigma2',
    measured: maxSpectrumDifference(scaled, expected, top),
    bound: BOUND,
    relation: '<=',
    reference: 'Section 3.1, eq. (8); contrast with Remark 2',
    description:
      `H_z of a dense block without BN, weights scaled by sigma = ${SCALE}: largest |lambda_i(sigma W) - ` +
      'sigma^2 lambda_i(W)|, relative to sigma^2 lambda_max(W) (float32 autodiff).',
    seed,
    details: {
      sizes: { ...SIZES, dim: base.length },
      scale: SCALE,
      largestEigenvalue: round(base[base.length - 1]),
      largestEigenvalueScaled: round(scaled[scaled.length - 1]),
    },
  });
}
