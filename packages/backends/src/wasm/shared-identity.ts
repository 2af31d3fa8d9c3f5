// Identity, and Cast to the same dtype, for the wasm backend without copying: the output shares the
// input's data (reference-counted), as tfjs-backend-cpu and wasm's own Reshape do. tfjs-backend-wasm
// 4.22 copies the whole tensor instead; the gradient tape calls Identity for every saved activation
// (measured: 290 calls per paper VGG13 training step). No kernel writes into its inputs, so sharing is safe.
import type * as tf from '@tensorflow/tfjs-core';

interface RefCountedBackend {
  incRef(dataId: tf.DataId): void;
}

function share(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  (backend as RefCountedBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

function canShare(x: tf.TensorInfo, backend: unknown): boolean {
  return x.dtype !== 'string' && typeof (backend as Partial<RefCountedBackend>).incRef === 'function';
}

export function sharedIdentity(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    return canShare(x, args.backend) ? share(x, args.backend) : fallback(args);
  };
}

export function sharedCast(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as { dtype: tf.DataType };
    return dtype === x.dtype && canShare(x, args.backend) ? share(x, args.backend) : fallback(args);
  };
}
