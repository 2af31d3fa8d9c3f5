// An optional one-pass kernel for the momentum update of one variable. The composed tfjs ops of
// BlockwiseSGD's step make six passes over the weights and six kernel calls per variable; a backend may
// register this kernel to do the same float32 operations, each rounded on its own (no fused
// multiply-add), in one pass: the results are the same bits. @bmp/backends registers it on wasm with its
// native kernels. Where the current backend has no such kernel, the composed ops run.
//
//   inputs: variable w, gradient g, buffer u, scalars wd, decay, rate, mu; attrs: weightDecay, nesterov
//   g' = weightDecay ? g + wd * w : g,   u' = decay * u + g',   s = nesterov ? g' + mu * u' : u',
//   outputs: [w - rate * s, u']
import * as tf from '@tensorflow/tfjs-core';

export const MOMENTUM_STEP_KERNEL = 'BmpSgdMomentumStep';

export interface MomentumStepInputs {
  variable: tf.Tensor;
  gradient: tf.Tensor;
  u: tf.Tensor;
  wd: tf.Scalar;
  decay: tf.Scalar;
  rate: tf.Scalar;
  mu: tf.Scalar;
}

/** The new weight and buffer from the kernel, or null when the current backend does not have it. */
export function momentumStepKernel(
  inputs: MomentumStepInputs,
  attrs: { weightDecay: boolean; nesterov: boolean },
): { value: tf.Tensor; u: tf.Tensor } | null {
  const { variable, gradient, u } = inputs;
  if (variable.dtype !== 'float32' || gradient.dtype !== 'float32' || u.dtype !== 'float32') return null;
  if (tf.getKernel(MOMENTUM_STEP_KERNEL, tf.getBackend()) == null) return null;
  const [value, next] = tf
    .engine()
    .runKernel(
      MOMENTUM_STEP_KERNEL,
      inputs as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
  return { value: value!, u: next! };
}
