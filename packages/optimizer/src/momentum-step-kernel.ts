// An optional one-pass kernel for the momentum update of one variable. The composed tfjs ops of
// BlockwiseSGD's step make six passes over the weights and six kernel calls per variable; a backend may
// register this kernel to do the same float32 operations, each rounded on its own (no fused
// multiply-add), in one pass: the results are the same bits. @bmp/backends registers it on wasm with its
// native kernels. Where the current backend has no such kernel, the composed ops run.
//
// Its name, inputs, attributes and outputs are BMP_KERNELS.sgdMomentumStep of @bmp/hessian/kernels:
//   inputs: variable w, gradient g, buffer u, scalars wd, decay, rate, mu; attrs: weightDecay, nesterov
//   g' = weightDecay ? g + wd * w : g,   u' = decay * u + g',   s = nesterov ? g' + mu * u' : u',
//   outputs: [w - rate * s, u']

import { BMP_KERNELS, hasKernel, type KernelAttrs, type KernelInputs, runKernel } from '@bmp/hessian/kernels';
import type * as tf from '@tensorflow/tfjs-core';

export const MOMENTUM_STEP_KERNEL = BMP_KERNELS.sgdMomentumStep.name;

export type MomentumStepInputs = KernelInputs<'sgdMomentumStep'>;

/** The new weight and buffer from the kernel, or null when the current backend does not have it. */
export function momentumStepKernel(
  inputs: MomentumStepInputs,
  attrs: KernelAttrs<'sgdMomentumStep'>,
): { value: tf.Tensor; u: tf.Tensor } | null {
  const { variable, gradient, u } = inputs;
  if (variable.dtype !== 'float32' || gradient.dtype !== 'float32' || u.dtype !== 'float32') return null;
  if (!hasKernel('sgdMomentumStep')) return null;
  const [value, next] = runKernel('sgdMomentumStep', inputs, attrs);
  return { value, u: next };
}
