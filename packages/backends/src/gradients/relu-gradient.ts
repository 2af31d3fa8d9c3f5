// The gradient of Relu: tfjs' own, mul(dy, cast(step(x), 'float32')), unless the current backend has the
// one-pass kernel BmpReluGrad (registered on wasm with the native kernels), which gives the same bits.
import * as tf from '@tensorflow/tfjs-core';
import { RELU_GRAD } from '../wasm/native-relu';

const reluGradient: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as tf.Tensor[];
    const g = dy as tf.Tensor;
    return {
      x: () =>
        g.dtype === 'float32' && x!.dtype === 'float32' && tf.getKernel(RELU_GRAD, tf.getBackend()) != null
          ? (tf.engine().runKernel(RELU_GRAD, { dy: g, x: x! }) as tf.Tensor)
          : tf.mul(g, tf.cast(tf.step(x!), 'float32')),
    };
  },
};

/**
 * BmpReluGrad's own gradient, so that second derivatives (Hessian-vector products) work through it as
 * through tfjs' mul(dy, step(x)): linear in dy with the same mask, and zero in x (step is flat).
 */
const reluGradGradient: tf.GradConfig = {
  kernelName: RELU_GRAD,
  inputsToSave: ['x'],
  gradFunc: (ddx, saved) => {
    const [x] = saved as tf.Tensor[];
    const g = ddx as tf.Tensor;
    return {
      dy: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x: x! }) as tf.Tensor,
      x: () => tf.zerosLike(x!),
    };
  },
};

let registered = false;

/** Registers the gradients (process-wide, for every backend). Idempotent. */
export function registerReluGradient(): void {
  if (registered) return;
  tf.registerGradient(reluGradient);
  tf.registerGradient(reluGradGradient);
  registered = true;
}
