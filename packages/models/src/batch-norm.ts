// Batch normalisation on batch statistics (training mode, no affine parameters), as one op with a
// hand-written gradient: fewer kernels per training step than the composed ops' autodiff.
//
//   xhat = (x - mean) * r,   r = 1 / sqrt(var + eps)   (mean, biased var over all axes but the last)
//   dx   = r * (dy - mean(dy) - xhat * mean(dy * xhat))
//
// mean and var depend on x; differentiating through them gives the last two terms (the standard BN
// backward pass). tf.customGrad's gradient is not itself differentiable, so this path is opt-in
// (ApplyOptions.fusedBatchNorm) and must not be used where second derivatives are taken.
import * as tf from '@tensorflow/tfjs-core';

/**
 * A kernel `({ x }, { epsilon }) -> [xhat, mean, variance, rstd]` with a registered gradient that a backend
 * may provide (@bmp/backends registers it on wasm with its native kernels): the same computation in fewer
 * passes. Used by fusedBatchNormTraining when the current backend has it.
 */
export const BATCH_NORM_TRAINING_KERNEL = 'BmpBatchNormTraining';

/**
 * A kernel `({ x }, { epsilon }) -> [relu(xhat), mean, variance, rstd]` with a registered gradient:
 * batch norm then ReLU in the same passes (the paper VGGs' order). Used by fusedBatchNormReluTraining when
 * the current backend has it; it must give the bits of BATCH_NORM_TRAINING_KERNEL followed by tf.relu.
 */
export const BATCH_NORM_RELU_TRAINING_KERNEL = 'BmpBatchNormReluTraining';

export interface BatchStatistics {
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/** Normalised `h` and the batch statistics (for the running averages), gradient by the formula above. */
export function fusedBatchNormTraining(h: tf.Tensor, epsilon: number): { out: tf.Tensor } & BatchStatistics {
  if (h.dtype === 'float32' && tf.getKernel(BATCH_NORM_TRAINING_KERNEL, tf.getBackend()) != null) {
    const [out, mean, variance, rstd] = tf.engine().runKernel(
      BATCH_NORM_TRAINING_KERNEL,
      { x: h },
      {
        epsilon,
      },
    ) as tf.Tensor[];
    rstd!.dispose(); // the gradient keeps its own copy
    return { out: out!, mean: mean!, variance: variance! };
  }
  const axes = h.shape.slice(0, -1).map((_, i) => i);
  // Statistics off the gradient path: customGrad only differentiates with respect to its input h, and
  // its gradient already accounts for mean and var depending on h.
  const { mean, variance } = tf.moments(h, axes);
  const r = tf.rsqrt(tf.add(variance, epsilon));
  const normalise = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const xhat = tf.mul(tf.sub(x, mean), r);
    // Saved, not captured: tensors of the forward tidy are gone by the time the gradient runs.
    save([xhat, r]);
    return {
      value: xhat,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs] = saved;
        const g = dy;
        const centred = tf.sub(g, tf.mean(g, axes));
        return tf.mul(tf.sub(centred, tf.mul(xh, tf.mean(tf.mul(g, xh), axes))), rs);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return { out: normalise(h), mean, variance };
}

/** relu(fusedBatchNormTraining(h)), in one kernel where the backend has BATCH_NORM_RELU_TRAINING_KERNEL. */
export function fusedBatchNormReluTraining(
  h: tf.Tensor,
  epsilon: number,
): { out: tf.Tensor } & BatchStatistics {
  if (h.dtype === 'float32' && tf.getKernel(BATCH_NORM_RELU_TRAINING_KERNEL, tf.getBackend()) != null) {
    const [out, mean, variance, rstd] = tf
      .engine()
      .runKernel(BATCH_NORM_RELU_TRAINING_KERNEL, { x: h }, { epsilon }) as tf.Tensor[];
    rstd!.dispose(); // the gradient keeps its own copy
    return { out: out!, mean: mean!, variance: variance! };
  }
  const normalised = fusedBatchNormTraining(h, epsilon);
  return { ...normalised, out: tf.relu(normalised.out) };
}
