import * as tf from '@tensorflow/tfjs-core';
import { Matrix, pseudoInverse } from 'ml-matrix';
import { jvp, type MultiFn, unflatten, vjp } from './autodiff';

/**
 * The explicit Jacobian d vec(f) / d vec(xs) (rows: outputs in row-major order; columns: the inputs
 * flattened and concatenated) by automatic differentiation: one vjp per output row, or one jvp per input
 * column, whichever is fewer. Float64 matrix; never finite differences.
 */
export function jacobian(f: MultiFn, xs: readonly tf.Tensor[]): Matrix {
  const outShape = tf.tidy(() => f([...xs]).shape);
  const nOut = outShape.reduce((a, b) => a * b, 1);
  const shapes = xs.map((x) => x.shape);
  const nIn = xs.reduce((s, x) => s + x.size, 0);
  const J = new Matrix(nOut, nIn);
  if (nOut <= nIn) {
    const e = new Float32Array(nOut);
    for (let o = 0; o < nOut; o++) {
      e.fill(0);
      e[o] = 1;
      tf.tidy(() => {
        const g = vjp(f, xs, tf.tensor(e, outShape, 'float32'));
        let c = 0;
        for (const t of g) {
          const d = t.dataSync();
          for (let i = 0; i < d.length; i++) J.set(o, c++, d[i]);
        }
      });
    }
  } else {
    const e = new Float64Array(nIn);
    for (let i = 0; i < nIn; i++) {
      e.fill(0);
      e[i] = 1;
      tf.tidy(() => {
        const d = jvp(f, xs, unflatten(e, shapes)).dataSync();
        for (let o = 0; o < nOut; o++) J.set(o, i, d[o]);
      });
    }
  }
  return J;
}

/** Minimum-norm least-squares step: argmin_d ||r - J d||^2 with the smallest ||d|| (SVD pseudo-inverse). */
export function leastSquaresStep(J: Matrix, r: ArrayLike<number>): Float64Array {
  const rhs = Matrix.columnVector(Array.from(r));
  const d = pseudoInverse(J).mmul(rhs);
  return Float64Array.from(d.getColumn(0));
}
