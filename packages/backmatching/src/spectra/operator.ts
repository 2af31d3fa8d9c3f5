import type { SymmetricOperator } from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Adapts a tfjs matrix-vector product (a Hessian- or Gauss-Newton-vector product by autodiff, a conv and
 * its transpose, ...) to a `SymmetricOperator`. The vector goes to tfjs as float32 (the precision of the
 * model), the result comes back as float64 for the Lanczos recurrences. Every tensor made inside `fn` is
 * disposed, and each call checks that `tf.memory().numTensors` is unchanged afterwards, so a leaking `fn`
 * fails on its first product instead of exhausting memory after thousands.
 */
export function tfOperator(
  dim: number,
  fn: (v: tf.Tensor1D) => tf.Tensor1D,
  label?: string,
): SymmetricOperator {
  return {
    dim,
    label,
    apply(v) {
      if (v.length !== dim)
        throw new Error(`tfOperator${label ? ` ${label}` : ''}: got ${v.length}, dim ${dim}`);
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => {
        const result = fn(tf.tensor1d(Float32Array.from(v), 'float32'));
        if (result.size !== dim)
          throw new Error(`tfOperator: product has ${result.size} entries, dim ${dim}`);
        return result;
      });
      let values: Float64Array;
      try {
        values = Float64Array.from(out.dataSync());
      } finally {
        out.dispose();
      }
      const after = tf.memory().numTensors;
      if (after !== before) {
        throw new Error(
          `tfOperator${label ? ` ${label}` : ''}: ${after - before} tensor(s) leaked by one product (` +
            `${before} before, ${after} after); keep variables and inputs created outside the product`,
        );
      }
      return values;
    },
  };
}
