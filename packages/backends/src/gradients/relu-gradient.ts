// The gradient of Relu: tfjs' own, mul(dy, cast(step(x), 'float32')), unless the current backend has the
// one-pass kernel BmpReluGrad (registered on wasm with the native kernels), which gives the same bits.
import { hasKernel, registerGradient, runKernel } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';

const reluGradient: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as tf.Tensor[];
    const g = dy as tf.Tensor;
    return {
      x: () =>
        g.dtype === 'float32' && x!.dtype === 'float32' && hasKernel('reluGrad')
          ? runKernel('reluGrad', { dy: g, x: x! }, {})[0]
          : tf.mul(g, tf.cast(tf.step(x!), 'float32')),
    };
  },
};

/**
 * BmpReluGrad's own gradient, so that second derivatives (Hessian-vector products) work through it as
 * through tfjs' mul(dy, step(x)): linear in dy with the same mask, and zero in x (step is flat).
 */
function registerReluGradGradient(): void {
  registerGradient('reluGrad', {
    inputsToSave: ['x'],
    gradFunc: ([g], saved) => {
      const [x] = saved as tf.Tensor[];
      return {
        dy: () => runKernel('reluGrad', { dy: g, x: x! }, {})[0],
        x: () => tf.zerosLike(x!),
      };
    },
  });
}

let registered = false;

/** Registers the gradients (process-wide, for every backend). Idempotent. */
export function registerReluGradient(): void {
  if (registered) return;
  tf.registerGradient(reluGradient);
  registerReluGradGradient();
  registered = true;
}
