import * as tf from '@tensorflow/tfjs-core';

/**
 * Throws, naming the first offending variable, if any probe is NaN or +-Infinity. One download for the
 * whole step. A probe is a scalar reduction that is non-finite whenever its variable's gradient is:
 * the gradient's sum, or the squared norm of the variable's new value (NaN and Infinity propagate
 * through the update). It also trips when a reduction overflows float32 (|x| > 3.4e38), which is just as
 * unusable.
 */
export function assertFiniteProbes(names: readonly string[], probes: readonly tf.Scalar[]): void {
  if (probes.length === 0) return;
  const stacked = tf.stack(probes as tf.Scalar[]);
  const values = stacked.dataSync();
  stacked.dispose();
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new Error(
      `non-finite gradient for variable '${names[bad]}' (its check value is ${values[bad]}); no weight was updated`,
    );
  }
}
