// Batch normalisation on batch statistics (no affine parameters) as two kernels of @bmp/backends-native on
// the wasm heap, two passes over the activations each way instead of the ~12 of the composed tfjs ops:
//
//   BmpBatchNormTraining({ x }, { epsilon }) -> [xhat, mean, variance, rstd]   (statistics over all axes but
//     the last; variance biased; rstd = 1 / sqrt(variance + epsilon); xhat = (x - mean) * rstd)
//   BmpBatchNormTrainingGrad({ dy, xhat, rstd }) -> dx = rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
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
    const { dy, xhat, rstd } = args.inputs as { dy: tf.TensorInfo; xhat: tf.TensorInfo; rstd: tf.TensorInfo };
    checkFloat('dy', dy);
    const backend = heap(args.backend);
    const dx = backend.makeOutput([...dy.shape], 'float32');
    native.batchNormBackward(
      backend.typedArrayFromHeap(dy) as Float32Array,
      backend.typedArrayFromHeap(xhat) as Float32Array,
      backend.typedArrayFromHeap(rstd) as Float32Array,
      backend.typedArrayFromHeap(dx) as Float32Array,
      holder.threads,
    );
    return dx;
  };
}

/**
 * The gradient with respect to x of all four outputs. Through xhat: the native kernel. Through mean,
 * variance and rstd (rarely used: running statistics are not part of a loss), with N the reduced size:
 *   dmean/dx = 1/N,  dvariance/dx = 2 xhat / (rstd N),  drstd/dx = -rstd^2 xhat / N.
 */
export const batchNormTrainingGradient: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  outputsToSave: [true, false, false, true],
  gradFunc: (dys, saved) => {
    const [dXhat, dMean, dVariance, dRstd] = dys as (tf.Tensor | null)[];
    const [xhat, rstd] = saved as tf.Tensor[];
    return {
      x: () => {
        let dx =
          dXhat != null
            ? (tf
                .engine()
                .runKernel(BATCH_NORM_TRAINING_GRAD, { dy: dXhat, xhat: xhat!, rstd: rstd! }) as tf.Tensor)
            : tf.zerosLike(xhat!);
        const n = xhat!.size / rstd!.size;
        if (dMean != null) dx = tf.add(dx, tf.div(dMean, n));
        let perXhat: tf.Tensor | null = null;
        if (dVariance != null) perXhat = tf.div(tf.mul(dVariance, 2), tf.mul(rstd!, n));
        if (dRstd != null) {
          const t = tf.neg(tf.div(tf.mul(dRstd, tf.square(rstd!)), n));
          perXhat = perXhat == null ? t : tf.add(perXhat, t);
        }
        return perXhat == null ? dx : tf.add(dx, tf.mul(xhat!, perXhat));
      },
    };
  },
};
