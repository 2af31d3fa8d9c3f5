// Batch normalisation on batch statistics (no affine parameters) as kernels of @bmp/backends-native on
// the wasm heap, two passes over the activations each way instead of the ~12 of the composed tfjs ops:
//
//   BmpBatchNormTraining({ x }, { epsilon }) -> [xhat, mean, variance, rstd]   (statistics over all axes but
//     the last; variance biased; rstd = 1 / sqrt(variance + epsilon); xhat = (x - mean) * rstd)
//   BmpBatchNormTrainingGrad({ dy, xhat, rstd, [dMean, dVariance, dRstd] }) -> dx = rstd * (dy - mean(dy) -
//     xhat * mean(dy * xhat)), plus the terms of the optional per-channel gradients of the statistics
//
// and batch norm then ReLU (the paper VGGs' order) in the same passes, xhat not stored:
//
//   BmpBatchNormReluTraining({ x }, { epsilon }) -> [relu(xhat), mean, variance, rstd]
//   BmpBatchNormReluTrainingGrad({ dy, x, mean, rstd, [dMean, dVariance, dRstd] }) -> the gradient above of
//     g = dy * step(xhat), xhat recomputed from x as the forward pass computed it
//
// The ReLU versions give the bits of BmpBatchNormTraining followed by Relu, and of their gradients. Names,
// inputs, attributes and outputs are BMP_KERNELS of @bmp/hessian/kernels (@bmp/models runs the forward
// kernels when the current backend has them); the gradients registered here make them differentiable
// through every output, and ../gradients/batch-norm-grad-gradient.ts makes the ...Grad kernels
// differentiable in turn (second derivatives).
import type { NativeKernels } from '@bmp/backends-native';
import { BMP_KERNELS, type KernelArgs } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { requireHeap } from './heap';
import type { NativeThreads } from './native-conv';

export const BATCH_NORM_TRAINING = BMP_KERNELS.batchNormTraining.name;
export const BATCH_NORM_TRAINING_GRAD = BMP_KERNELS.batchNormTrainingGrad.name;
export const BATCH_NORM_RELU_TRAINING = BMP_KERNELS.batchNormReluTraining.name;
export const BATCH_NORM_RELU_TRAINING_GRAD = BMP_KERNELS.batchNormReluTrainingGrad.name;

function checkFloat(name: string, t: tf.TensorInfo): void {
  if (t.dtype !== 'float32' || t.shape.length === 0 || tf.util.sizeFromShape(t.shape) === 0) {
    throw new Error(
      `${BATCH_NORM_TRAINING} (@bmp/backends): ${name} must be a non-empty float32 tensor of rank >= 1, got ${t.dtype} [${t.shape}]`,
    );
  }
}

/** `relu`: BmpBatchNormReluTraining (the same inputs, attributes and outputs), whose first output is relu(xhat). */
export function nativeBatchNormTraining(native: NativeKernels, holder: NativeThreads, relu = false) {
  return (
    args: KernelArgs<'batchNormTraining'>,
  ): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] => {
    const { x } = args.inputs;
    const { epsilon } = args.attrs;
    checkFloat('x', x);
    const backend = requireHeap(args.backend, BATCH_NORM_TRAINING);
    const channels = x.shape[x.shape.length - 1]!;
    const outs = [
      backend.makeOutput([...x.shape], 'float32'),
      backend.makeOutput([channels], 'float32'),
      backend.makeOutput([channels], 'float32'),
      backend.makeOutput([channels], 'float32'),
    ] as const;
    // Views after every allocation: growing the wasm memory detaches older ones.
    const [first, mean, variance, rstd] = outs.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    const forward = relu ? native.batchNormReluForward : native.batchNormForward;
    forward(xv, first!, mean!, variance!, rstd!, epsilon, holder.threads);
    return [...outs];
  };
}

type Statistics = Pick<KernelArgs<'batchNormTrainingGrad'>['inputs'], 'dMean' | 'dVariance' | 'dRstd'>;

/** BmpBatchNormTrainingGrad. */
export function nativeBatchNormTrainingGrad(native: NativeKernels, holder: NativeThreads) {
  return (args: KernelArgs<'batchNormTrainingGrad'>): [tf.TensorInfo] => {
    const { dy, xhat, rstd, ...statistics } = args.inputs;
    checkFloat('dy', dy);
    const backend = requireHeap(args.backend, BATCH_NORM_TRAINING);
    const dx = backend.makeOutput([...dy.shape], 'float32');
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    native.batchNormBackward(view(dy), view(xhat), view(rstd), view(dx), holder.threads);
    addStatisticsTerms(view(dx), () => view(xhat), view(rstd), statistics, view);
    return [dx];
  };
}

/** BmpBatchNormReluTrainingGrad, whose dy is the gradient of relu(xhat) and which gets x and mean. */
export function nativeBatchNormReluTrainingGrad(native: NativeKernels, holder: NativeThreads) {
  return (args: KernelArgs<'batchNormReluTrainingGrad'>): [tf.TensorInfo] => {
    const { dy, x, mean, rstd, ...statistics } = args.inputs;
    checkFloat('dy', dy);
    const backend = requireHeap(args.backend, BATCH_NORM_TRAINING);
    const dx = backend.makeOutput([...dy.shape], 'float32');
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const [xv, mv, rv] = [view(x), view(mean), view(rstd)];
    native.batchNormReluBackward(view(dy), xv, mv, rv, view(dx), holder.threads);
    // Only for the statistics terms (rare): xhat as the forward pass computed it.
    const c = rv.length;
    const xhatOf = () => Float32Array.from(xv, (v, i) => Math.fround(v - mv[i % c]!) * rv[i % c]!);
    addStatisticsTerms(view(dx), xhatOf, view(rstd), statistics, view);
    return [dx];
  };
}

/**
 * dx += dMean / N + xhat * (2 dVariance / (rstd N) - dRstd rstd^2 / N) per channel, skipped when these
 * gradients are all zero: tfjs passes zeros for outputs that do not reach the loss, which is the case in
 * training (the statistics only feed the running averages), and this saves three passes over the
 * activations. float32 rounding at each step, as the composed ops would give.
 */
function addStatisticsTerms(
  dx: Float32Array,
  xhatOf: () => Float32Array,
  rstd: Float32Array,
  statistics: Partial<Statistics>,
  view: (t: tf.TensorInfo) => Float32Array,
): void {
  const f = Math.fround;
  const channels = rstd.length;
  const n = f(dx.length / channels);
  const dMean = statistics.dMean && view(statistics.dMean);
  const dVariance = statistics.dVariance && view(statistics.dVariance);
  const dRstd = statistics.dRstd && view(statistics.dRstd);
  const shift = new Float32Array(channels);
  const scale = new Float32Array(channels);
  let any = false;
  for (let c = 0; c < channels; c++) {
    const r = rstd[c]!;
    shift[c] = dMean ? f(dMean[c]! / n) : 0;
    const v = dVariance ? f(f(dVariance[c]! * 2) / f(r * n)) : 0;
    const s = dRstd ? -f(f(dRstd[c]! * f(r * r)) / n) : 0;
    scale[c] = f(v + s);
    any ||= shift[c] !== 0 || scale[c] !== 0;
  }
  if (!any) return;
  const xhat = xhatOf();
  for (let i = 0; i < dx.length; i++) {
    const c = i % channels;
    dx[i] = f(dx[i]! + shift[c]!) + f(xhat[i]! * scale[c]!);
  }
}
