// Batch normalisation on batch statistics (no affine parameters) as two kernels of @bmp/backends-native on
// the wasm heap, two passes over the activations each way instead of the ~12 of the composed tfjs ops:
//
//   BmpBatchNormTraining({ x }, { epsilon }) -> [xhat, mean, variance, rstd]   (statistics over all axes but
//     the last; variance biased; rstd = 1 / sqrt(variance + epsilon); xhat = (x - mean) * rstd)
//   BmpBatchNormTrainingGrad({ dy, xhat, rstd, [dMean, dVariance, dRstd] }) -> dx = rstd * (dy - mean(dy) -
//     xhat * mean(dy * xhat)), plus the terms of the optional per-channel gradients of the statistics
//
// The kernel names are a contract with @bmp/models (its fusedBatchNorm path runs the first kernel when the
// current backend has it); the gradient registered here makes it differentiable through every output.
import type { NativeKernels } from '@bmp/backends-native';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeThreads } from './native-conv';

export const BATCH_NORM_TRAINING = 'BmpBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'BmpBatchNormTrainingGrad';

interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

function heap(backend: unknown): HeapBackend {
  const b = backend as Partial<HeapBackend>;
  if (typeof b.typedArrayFromHeap !== 'function' || typeof b.makeOutput !== 'function') {
    throw new Error(`${BATCH_NORM_TRAINING} (@bmp/backends) runs on the wasm backend only`);
  }
  return b as HeapBackend;
}

function checkFloat(name: string, t: tf.TensorInfo): void {
  if (t.dtype !== 'float32' || t.shape.length === 0 || tf.util.sizeFromShape(t.shape) === 0) {
    throw new Error(
      `${BATCH_NORM_TRAINING} (@bmp/backends): ${name} must be a non-empty float32 tensor of rank >= 1, got ${t.dtype} [${t.shape}]`,
    );
  }
}

export function nativeBatchNormTraining(native: NativeKernels, holder: NativeThreads): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { epsilon } = args.attrs as { epsilon: number };
    checkFloat('x', x);
    const backend = heap(args.backend);
    const channels = x.shape[x.shape.length - 1]!;
    const outs = [
      backend.makeOutput([...x.shape], 'float32'),
      backend.makeOutput([channels], 'float32'),
      backend.makeOutput([channels], 'float32'),
      backend.makeOutput([channels], 'float32'),
    ];
    // Views after every allocation: growing the wasm memory detaches older ones.
    const [xhat, mean, variance, rstd] = outs.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    native.batchNormForward(xv, xhat!, mean!, variance!, rstd!, epsilon, holder.threads);
    return outs;
  };
}

export function nativeBatchNormTrainingGrad(native: NativeKernels, holder: NativeThreads): tf.KernelFunc {
  return (args) => {
    const { dy, xhat, rstd, ...statistics } = args.inputs as {
      dy: tf.TensorInfo;
      xhat: tf.TensorInfo;
      rstd: tf.TensorInfo;
      dMean?: tf.TensorInfo;
      dVariance?: tf.TensorInfo;
      dRstd?: tf.TensorInfo;
    };
    checkFloat('dy', dy);
    const backend = heap(args.backend);
    const dx = backend.makeOutput([...dy.shape], 'float32');
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    native.batchNormBackward(view(dy), view(xhat), view(rstd), view(dx), holder.threads);
    addStatisticsTerms(view(dx), view(xhat), view(rstd), statistics, view);
    return dx;
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
  xhat: Float32Array,
  rstd: Float32Array,
  statistics: { dMean?: tf.TensorInfo; dVariance?: tf.TensorInfo; dRstd?: tf.TensorInfo },
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
  for (let i = 0; i < dx.length; i++) {
    const c = i % channels;
    dx[i] = f(dx[i]! + shift[c]!) + f(xhat[i]! * scale[c]!);
  }
}

/**
 * The gradient with respect to x of all four outputs, in one kernel (see addStatisticsTerms), with N the
 * reduced size: dmean/dx = 1/N,  dvariance/dx = 2 xhat / (rstd N),  drstd/dx = -rstd^2 xhat / N.
 */
export const batchNormTrainingGradient: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  outputsToSave: [true, false, false, true],
  gradFunc: (dys, saved) => {
    const [dXhat, dMean, dVariance, dRstd] = dys as (tf.Tensor | null)[];
    const [xhat, rstd] = saved as tf.Tensor[];
    const statistics: tf.NamedTensorMap = {};
    if (dMean != null) statistics.dMean = dMean;
    if (dVariance != null) statistics.dVariance = dVariance;
    if (dRstd != null) statistics.dRstd = dRstd;
    return {
      x: () =>
        tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, {
          dy: dXhat ?? tf.zerosLike(xhat!),
          xhat: xhat!,
          rstd: rstd!,
          ...statistics,
        }) as tf.Tensor,
    };
  },
};
