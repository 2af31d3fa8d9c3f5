// ReLU and its gradient as kernels of @bmp/backends-native on the wasm heap, using every native thread
// (tfjs-backend-wasm runs on one):
// - Relu: the same values as wasm's own (x for x > 0, NaN for NaN, +0 otherwise); other dtypes go to it;
// - BmpReluGrad: dx = dy * step(x) in one pass. tfjs computes it as mul(dy, cast(step(x))): two passes
//   over the activations and two kernel calls for every ReLU of a training step. The gradient of Relu
//   (../gradients/relu-gradient.ts) runs this kernel where the current backend has it.
import type { NativeKernels } from '@bmp/backends-native';
import { BMP_KERNELS, type KernelArgs } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { heapOf, requireHeap } from './heap';
import type { NativeThreads } from './native-conv';

export const RELU_GRAD = BMP_KERNELS.reluGrad.name;

export function nativeReluGrad(native: NativeKernels, holder: NativeThreads) {
  return (args: KernelArgs<'reluGrad'>): [tf.TensorInfo] => {
    const { dy, x } = args.inputs;
    const backend = requireHeap(args.backend, RELU_GRAD);
    if (dy.dtype !== 'float32' || x.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, x.shape)) {
      throw new Error(
        `${RELU_GRAD} (@bmp/backends): dy and x must be float32 tensors of one shape, got dy ${dy.dtype} [${dy.shape}], x ${x.dtype} [${x.shape}]`,
      );
    }
    const dx = backend.makeOutput([...x.shape], 'float32');
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    native.reluGrad(view(dy), view(x), view(dx), holder.threads);
    return [dx];
  };
}

export function nativeRelu(
  native: NativeKernels,
  holder: NativeThreads,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = heapOf(args.backend);
    if (x.dtype !== 'float32' || backend == null) return fallback(args);
    const y = backend.makeOutput([...x.shape], 'float32');
    if (tf.util.sizeFromShape(x.shape) > 0) {
      native.relu(
        backend.typedArrayFromHeap(x) as Float32Array,
        backend.typedArrayFromHeap(y) as Float32Array,
        holder.threads,
      );
    }
    return y;
  };
}
