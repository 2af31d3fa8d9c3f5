// The gradients of the batch-norm kernels of @bmp/hessian/kernels (BmpBatchNormTraining,
// BmpBatchNormReluTraining), for every backend that registers them (wasm: native C++ kernels; webgpu: WGSL
// programs): they run the ...Grad kernels of the current backend, and, when a gradient of a gradient is being
// taken, recompute the saved outputs with the forward kernel on the tape. ./batch-norm-grad-gradient.ts makes
// the ...Grad kernels differentiable in turn (second derivatives).
import { type KernelGradient, registerGradient, runKernel } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { registerBatchNormGradGradients } from './batch-norm-grad-gradient';

/**
 * Whether an outer gradient is recording (a gradient of a gradient being taken). tfjs puts the saved copies
 * of a kernel's outputs on its tape before the kernel itself, so an outer gradient does not reach x through
 * them; the gradients below then recompute the outputs they need from the saved input x with the forward
 * kernel (the same bits), on the tape. A first-order gradient uses the saved outputs.
 */
function recording(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/**
 * The gradient with respect to x of all four outputs, in one kernel (see addStatisticsTerms), with N the
 * reduced size: dmean/dx = 1/N,  dvariance/dx = 2 xhat / (rstd N),  drstd/dx = -rstd^2 xhat / N. tfjs
 * passes zeros for the gradients of outputs that do not reach the loss.
 */
export const batchNormTrainingGradient: KernelGradient<'batchNormTraining'> = {
  inputsToSave: ['x'],
  outputsToSave: [true, false, false, true],
  gradFunc: ([dXhat, dMean, dVariance, dRstd], saved, { epsilon }) => {
    const [x, savedXhat, savedRstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    return {
      x: () => {
        const [xhat, , , rstd] = recording()
          ? runKernel('batchNormTraining', { x }, { epsilon })
          : [savedXhat, null, null, savedRstd];
        return runKernel('batchNormTrainingGrad', { dy: dXhat, xhat, rstd, dMean, dVariance, dRstd }, {})[0];
      },
    };
  },
};

/** The same for BmpBatchNormReluTraining, whose first output is relu(xhat): it keeps x, mean and rstd. */
export const batchNormReluTrainingGradient: KernelGradient<'batchNormReluTraining'> = {
  inputsToSave: ['x'],
  outputsToSave: [false, true, false, true],
  gradFunc: ([dY, dMean, dVariance, dRstd], saved, { epsilon }) => {
    const [x, savedMean, savedRstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    return {
      x: () => {
        const [, mean, , rstd] = recording()
          ? runKernel('batchNormReluTraining', { x }, { epsilon })
          : [null, savedMean, null, savedRstd];
        return runKernel(
          'batchNormReluTrainingGrad',
          { dy: dY, x, mean, rstd, dMean, dVariance, dRstd },
          {},
        )[0];
      },
    };
  },
};

let registered = false;

/**
 * Registers the gradients of BmpBatchNormTraining and BmpBatchNormReluTraining, and those of their ...Grad
 * kernels (process-wide, for every backend). Idempotent.
 */
export function registerBatchNormGradients(): void {
  if (registered) return;
  registerGradient('batchNormTraining', batchNormTrainingGradient);
  registerGradient('batchNormReluTraining', batchNormReluTrainingGradient);
  registerBatchNormGradGradients();
  registered = true;
}
