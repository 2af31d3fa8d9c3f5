import type { AsyncSymmetricOperator, SymmetricOperator } from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Adapts a tfjs matrix-vector product (a Hessian- or Gauss-Newton-vector product by autodiff, a conv and
 * its transpose, ...) to a `SymmetricOperator`. The vector goes to tfjs as float32 (the precision of the
 * model), the result comes back as float64 for the Lanczos recurrences. Every tensor made inside `fn` is
 * disposed, and each call checks that `tf.memory().numTensors` is unchanged afterwards, so a leaking `fn`
 * fails on its first product instead of exhausting memory after thousands.
 *
 * `apply` reads the product back synchronously (`dataSync`); `applyAsync` with `await data()`, the only
 * read WebGPU allows in Node (and the one that does not stall a browser page): give the operator to the
 * `...Async` functions of `@bmp/spectra` (`lanczosAsync`, `hutchinsonTraceAsync`, ...) on such backends.
 * Both give the same numbers.
 */
export function tfOperator(
  dim: number,
  fn: (v: tf.Tensor1D) => tf.Tensor1D,
  label?: string,
): SymmetricOperator & AsyncSymmetricOperator {
  const name = `tfOperator${label ? ` ${label}` : ''}`;
  const product = (v: Float64Array): { out: tf.Tensor; before: number } => {
    if (v.length !== dim) throw new Error(`${name}: got ${v.length}, dim ${dim}`);
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => {
      const result = fn(tf.tensor1d(Float32Array.from(v), 'float32'));
      if (result.size !== dim) throw new Error(`tfOperator: product has ${result.size} entries, dim ${dim}`);
      return result;
    });
    return { out, before };
  };
  const checkLeaks = (before: number): void => {
    const after = tf.memory().numTensors;
    if (after !== before) {
      throw new Error(
        `${name}: ${after - before} tensor(s) leaked by one product (` +
          `${before} before, ${after} after); keep variables and inputs created outside the product`,
      );
    }
  };
  return {
    dim,
    label,
    apply(v) {
      const { out, before } = product(v);
      let values: Float64Array;
      try {
        values = Float64Array.from(out.dataSync());
      } finally {
        out.dispose();
      }
      checkLeaks(before);
      return values;
    },
    async applyAsync(v) {
      const { out, before } = product(v);
      let values: Float64Array;
      try {
        values = Float64Array.from(await out.data());
      } finally {
        out.dispose();
      }
      checkLeaks(before);
      return values;
    },
  };
}
