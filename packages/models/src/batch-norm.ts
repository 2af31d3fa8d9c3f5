// Batch normalisation on batch statistics (training mode, no affine parameters), as one op with a
// hand-written gradient: fewer kernels per training step than the composed ops' autodiff.
//
//   xhat = (x - mean) * r,   r = 1 / sqrt(var + eps)   (mean, biased var over all axes but the last)
//   dx   = r * (dy - mean(dy) - xhat * mean(dy * xhat))
//
// mean and var depend on x; differentiating through them gives the last two terms (the standard BN
// backward pass). Which implementation runs is the backend's business: where the current backend has the
// kernels of @bmp/hessian/kernels (BMP_KERNELS.batchNormTraining, .batchNormReluTraining; @bmp/backends
// registers them on wasm with its native kernels, with gradients that are themselves differentiable) they
// run, elsewhere the tfjs ops below. Both give correct second derivatives (Hessian-vector products,
// back-matching): the fallback's gradient is computed with tfjs ops from the input it saved (a clone that
// tfjs keeps on the tape), so differentiating it again goes through mean and var too.
import { BMP_KERNELS, hasKernel, runKernel } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The kernel `({ x }, { epsilon }) -> [xhat, mean, variance, rstd]` (BMP_KERNELS.batchNormTraining of
 * `@bmp/hessian/kernels`) that batchNormTraining runs when the current backend has it.
 */
export const BATCH_NORM_TRAINING_KERNEL = BMP_KERNELS.batchNormTraining.name;

/**
 * The kernel `({ x }, { epsilon }) -> [relu(xhat), mean, variance, rstd]` (BMP_KERNELS.batchNormReluTraining):
 * batch norm then ReLU in the same passes (the paper VGGs' order), the bits of the two separate ops. Run by
 * batchNormReluTraining when the current backend has it.
 */
export const BATCH_NORM_RELU_TRAINING_KERNEL = BMP_KERNELS.batchNormReluTraining.name;

export interface BatchStatistics {
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/** Normalised `h` and the batch statistics (for the running averages), gradient by the formula above. */
export function batchNormTraining(h: tf.Tensor, epsilon: number): { out: tf.Tensor } & BatchStatistics {
  if (h.dtype === 'float32' && hasKernel('batchNormTraining')) {
    const [out, mean, variance, rstd] = runKernel('batchNormTraining', { x: h }, { epsilon });
    rstd.dispose(); // the gradient keeps its own copy
    return { out, mean, variance };
  }
  const axes = h.shape.slice(0, -1).map((_, i) => i);
  const normalised = (x: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, axes);
    const r = tf.rsqrt(tf.add(variance, epsilon));
    return { xhat: tf.mul(tf.sub(x, mean), r), r };
  };
  // Statistics off the gradient path: customGrad only differentiates with respect to its input h, and
  // its gradient already accounts for mean and var depending on h.
  const { mean, variance } = tf.moments(h, axes);
  const r = tf.rsqrt(tf.add(variance, epsilon));
  const normalise = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    // Saved, not captured: tensors of the forward tidy are gone by the time the gradient runs. Only x is
    // saved: tfjs records the saved copy of an input on the tape, so the gradient below, recomputed from it
    // with the same ops (the same bits), can itself be differentiated with respect to x.
    save([x]);
    return {
      value: tf.mul(tf.sub(x, mean), r),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const { xhat: xh, r: rs } = normalised(saved[0]!);
        const g = dy;
        const centred = tf.sub(g, tf.mean(g, axes));
        return tf.mul(tf.sub(centred, tf.mul(xh, tf.mean(tf.mul(g, xh), axes))), rs);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return { out: normalise(h), mean, variance };
}

/** relu(batchNormTraining(h)), in one kernel where the backend has BATCH_NORM_RELU_TRAINING_KERNEL. */
export function batchNormReluTraining(h: tf.Tensor, epsilon: number): { out: tf.Tensor } & BatchStatistics {
  if (h.dtype === 'float32' && hasKernel('batchNormReluTraining')) {
    const [out, mean, variance, rstd] = runKernel('batchNormReluTraining', { x: h }, { epsilon });
    rstd.dispose(); // the gradient keeps its own copy
    return { out, mean, variance };
  }
  const normalised = batchNormTraining(h, epsilon);
  return { ...normalised, out: tf.relu(normalised.out) };
}
