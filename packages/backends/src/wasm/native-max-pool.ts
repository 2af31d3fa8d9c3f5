// MaxPool (float32 NHWC) for the wasm backend computed by @bmp/backends-native on the wasm heap, using
// every native thread (tfjs-backend-wasm runs XNNPACK on one). Each output is its window's largest value,
// padding ignored; other dtypes and ranks go to `fallback`, the kernel registered before.
import type { NativeKernels } from '@bmp/backends-native';
import * as tf from '@tensorflow/tfjs-core';
import { heapOf } from './heap';
import type { NativeThreads } from './native-conv';
import { type PoolAttrs, packPoolGeometry, poolInfo } from './pool-info';

export function nativeMaxPool(
  native: NativeKernels,
  holder: NativeThreads,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = heapOf(args.backend);
    if (x.dtype !== 'float32' || x.shape.length !== 4 || backend == null) return fallback(args);
    const info = poolInfo(x.shape, args.attrs as unknown as PoolAttrs);
    const out = backend.makeOutput([...info.outShape], 'float32');
    if (tf.util.sizeFromShape(info.outShape) === 0 || tf.util.sizeFromShape(x.shape) === 0) return out;
    native.maxPool(
      backend.typedArrayFromHeap(x) as Float32Array,
      backend.typedArrayFromHeap(out) as Float32Array,
      packPoolGeometry(info),
      holder.threads,
    );
    return out;
  };
}
