import * as tf from '@tensorflow/tfjs-core';

// A probe is a scalar reduction that is non-finite whenever its variable's gradient is: the gradient's
// sum, or the squared norm of the variable's new value (NaN and Infinity propagate through the update).
// It also trips when a reduction overflows float32 (|x| > 3.4e38), which is just as unusable. The probes
// of a step are stacked so that the whole step needs one download, synchronous or not.

/** The step's probes as one tensor to download (null when there are none). */
export function stackProbes(probes: readonly tf.Scalar[]): tf.Tensor1D | null {
  return probes.length === 0 ? null : (tf.stack(probes as tf.Scalar[]) as tf.Tensor1D);
}

/** Throws, naming the first offending variable, if any downloaded probe is NaN or +-Infinity. */
export function assertFiniteValues(names: readonly string[], values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new Error(
        `non-finite gradient for variable '${names[i]}' (its check value is ${values[i]}); no weight was updated`,
      );
    }
  }
}
