import { conditionFromEigenvalues, symmetricEigenvalues } from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';
import { type LocalHessianSpec, localHessianMatrix } from '../hessians/local-hessian';

/**
 * Ascending eigenvalues of a local Hessian made explicit by autodiff (one float32 product per column):
 * symmetric to float32 rounding, so the symmetry check is relaxed to 1e-4 of the largest entry.
 */
export function localHessianSpectrum(spec: LocalHessianSpec): Float64Array {
  return symmetricEigenvalues(localHessianMatrix(spec), { symmetryTolerance: 1e-4 });
}

/**
 * C(H) of a float32 Hessian from its eigenvalues, eigenvalues <= dim * 2^-23 * lambda_max counting as
 * zero (what float32 rounding of the products can produce).
 */
export function float32Condition(eigenvalues: Float64Array): number {
  let top = 0;
  for (const v of eigenvalues) top = Math.max(top, Math.abs(v));
  return conditionFromEigenvalues(eigenvalues, { rankTolerance: eigenvalues.length * 2 ** -23 * top })
    .condition;
}

/**
 * A non-trainable variable holding `value`'s data; `value` is disposed (tf.variable shares the data of
 * its initial tensor and leaves that tensor alive, which would leak one tensor per variable).
 */
export function variable(value: tf.Tensor, trainable = false): tf.Variable {
  const v = tf.variable(value, trainable);
  value.dispose();
  return v;
}
