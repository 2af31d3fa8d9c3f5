// Reductions over leading axes and broadcasting binary ops for the wasm backend, computed by
// @bmp/backends-native on the wasm heap. Batch norm on NHWC tensors is made of exactly these: per-channel
// Sum / Mean over [N, H, W] and x op v[c]. tfjs-backend-wasm 4.22 transposes the tensor before each such
// reduction and broadcasts with a generic index loop; measured on the paper VGG13 step they took more
// time than the convolutions once those were native (see README).
//
// - Sum, Mean: float32, axes = the k leading axes (any k >= 1 below the rank), any keepDims.
// - Add, Sub, Multiply, RealDiv: float32, one operand the shape of the output, the other spanning only
//   its trailing axes (leading axes of size 1 or absent: [C], [1, 1, 1, C], a scalar, or the same shape).
// Everything else goes to `fallback`, the kernel registered before.
import type { NativeKernels } from '@bmp/backends-native';
import * as tf from '@tensorflow/tfjs-core';
import { heapOf } from './heap';
import type { NativeThreads } from './native-conv';

/** The axes as sorted non-negative integers, or null when they are not 0..k-1 for some k < rank. */
function leadingAxes(axis: number | number[] | undefined, rank: number): number | null {
  if (axis == null) return null;
  const axes = tf.util.parseAxisParam(
    axis,
    [...Array(rank)].map(() => 1),
  );
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length >= rank) return null;
  return sorted.every((a, i) => a === i) ? sorted.length : null;
}

export function nativeReduce(
  native: NativeKernels,
  holder: NativeThreads,
  kind: 'Sum' | 'Mean',
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as { axis?: number | number[]; keepDims?: boolean };
    const backend = heapOf(args.backend);
    const k = x.dtype === 'float32' ? leadingAxes(axis, x.shape.length) : null;
    if (k == null || backend == null) return fallback(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    const kept = x.shape.slice(k);
    if (rows === 0 || tf.util.sizeFromShape(kept) === 0) return fallback(args);
    const out = backend.makeOutput(
      keepDims ? [...x.shape.slice(0, k).map(() => 1), ...kept] : kept,
      'float32',
    );
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    const ov = backend.typedArrayFromHeap(out) as Float32Array;
    native.sumRows(xv, ov, kind === 'Mean' ? 1 / rows : 1, holder.threads);
    return out;
  };
}

export const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 } as const;
export type BinaryKernel = keyof typeof BINARY_OPS;

/** True when `small` (left-padded with ones) equals `shape` on its trailing axes and is 1 elsewhere. */
function spansTrailing(small: number[], shape: number[]): boolean {
  if (small.length > shape.length) return false;
  const padded = [...Array(shape.length - small.length).fill(1), ...small];
  let j = shape.length;
  while (j > 0 && padded[j - 1] === shape[j - 1]) j--;
  return padded.slice(0, j).every((d) => d === 1);
}

export function nativeBinary(
  native: NativeKernels,
  holder: NativeThreads,
  kind: BinaryKernel,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  const op = BINARY_OPS[kind];
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const backend = heapOf(args.backend);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || backend == null) return fallback(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = tf.util.sizeFromShape(shape);
    let x: tf.TensorInfo;
    let v: tf.TensorInfo;
    let vectorFirst: boolean;
    if (tf.util.arraysEqual(a.shape, shape) && spansTrailing(b.shape, shape)) {
      [x, v, vectorFirst] = [a, b, false];
    } else if (tf.util.arraysEqual(b.shape, shape) && spansTrailing(a.shape, shape)) {
      [x, v, vectorFirst] = [b, a, true];
    } else {
      return fallback(args);
    }
    if (size === 0 || tf.util.sizeFromShape(v.shape) === 0) return fallback(args);
    const out = backend.makeOutput(shape, 'float32');
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    const vv = backend.typedArrayFromHeap(v) as Float32Array;
    const ov = backend.typedArrayFromHeap(out) as Float32Array;
    native.broadcastRows(op, xv, vv, ov, vectorFirst, holder.threads);
    return out;
  };
}
