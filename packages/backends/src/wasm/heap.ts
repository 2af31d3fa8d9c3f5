// The wasm backend's heap, as the native kernels use it: tensors live in WebAssembly memory, and these
// two methods of tfjs-backend-wasm's BackendWasm allocate an output there and view a tensor's data in place.
import type * as tf from '@tensorflow/tfjs-core';

export interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

/** `backend` as a HeapBackend, or null when it is not the wasm backend. */
export function heapOf(backend: unknown): HeapBackend | null {
  const b = backend as Partial<HeapBackend> | null;
  return typeof b?.typedArrayFromHeap === 'function' && typeof b.makeOutput === 'function'
    ? (b as HeapBackend)
    : null;
}

/** heapOf, or an error saying that `kernel` runs on the wasm backend only. */
export function requireHeap(backend: unknown, kernel: string): HeapBackend {
  const heap = heapOf(backend);
  if (heap == null) throw new Error(`${kernel} (@bmp/backends) runs on the wasm backend only`);
  return heap;
}
