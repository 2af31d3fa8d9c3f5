// Conv2D and its two gradients for the wasm backend, computed by @bmp/backends-native (C++ compiled for
// the machine at install, multi-threaded) directly on the wasm heap: no copies, no transposes.
//
// The three kernels share one geometry (tfjs' computeConv2DInfo): x [N, H, W, Ci], filter
// [kh, kw, Ci, Co], y / dy [N, Ho, Wo, Co], strides, and the front padding (top, left).
// - Conv2D:               y  = sum over taps of x * W             (any stride; Co % 4 = 0)
// - Conv2DBackpropFilter: dW = sum over pixels of x * dy          (any stride; Co % 4 = 0)
// - Conv2DBackpropInput:  dx = correlation of dy with flipped W^T (stride 1; Ci % 4 = 0)
// Anything else (NCHW, other dtypes, dilation, channel counts the addon does not vectorise, strides
// for dx) goes to `fallback`, the kernel registered before this one.
import type { ConvGeometry, NativeKernels } from '@bmp/backends-native';
import * as tf from '@tensorflow/tfjs-core';
import { type ConvAttrs, isChannelsLast } from '../kernel-utils';
import { type HeapBackend, heapOf } from './heap';

interface ConvBackend extends HeapBackend {
  disposeData(dataId: tf.DataId): boolean;
}

type Conv2DAttrs = ConvAttrs & { dilations?: number | [number, number] };
type NativeOp = 'convForward' | 'convFilterGrad' | 'convInputGrad';

/** Threads the native kernels use; a mutable holder so that it can be changed after registration. */
export interface NativeThreads {
  threads: number;
}

function geometry(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

function isDilated(dilations: Conv2DAttrs['dilations']): boolean {
  if (dilations == null) return false;
  return typeof dilations === 'number' ? dilations !== 1 : dilations.some((d) => d !== 1);
}

/**
 * Computes `outShape` with native kernel `op` from `a` and `b`; returns null (nothing allocated) when the
 * backend has no heap or the addon does not cover the case.
 */
function runNative(
  native: NativeKernels,
  op: NativeOp,
  backend: ConvBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  outShape: number[],
  info: tf.backend_util.Conv2DInfo,
  threads: number,
): tf.TensorInfo | null {
  if (heapOf(backend) == null) return null;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const out = backend.makeOutput(outShape, 'float32');
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  // Views taken after the allocation: growing the wasm memory detaches older ones.
  const av = backend.typedArrayFromHeap(a) as Float32Array;
  const bv = backend.typedArrayFromHeap(b) as Float32Array;
  const ov = backend.typedArrayFromHeap(out) as Float32Array;
  if (native[op](av, bv, ov, geometry(info), threads)) return out;
  backend.disposeData(out.dataId);
  return null;
}

function channelsLastFloat32(attrs: ConvAttrs, ...tensors: tf.TensorInfo[]): boolean {
  return (
    isChannelsLast(attrs.dataFormat) && tensors.every((t) => t.dtype === 'float32' && t.shape.length === 4)
  );
}

type Shape4 = [number, number, number, number];

/** tfjs' geometry of the convolution of an `inShape` input with a `filterShape` filter (dilation 1). */
function convInfo(inShape: Shape4, filterShape: Shape4, attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * A native kernel: `shapes` gives the convolution's input and filter shapes and the output shape from the
 * kernel's inputs (a, b) and attributes; anything the addon does not cover goes to `fallback`.
 */
function nativeKernel(
  native: NativeKernels,
  holder: NativeThreads,
  fallback: tf.KernelFunc,
  op: NativeOp,
  names: [string, string],
  shapes: (
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    attrs: Record<string, unknown>,
  ) => { input: Shape4; filter: Shape4 },
  outShape: (info: tf.backend_util.Conv2DInfo, attrs: Record<string, unknown>) => number[],
  /** The input whose shape must equal the convolution's output shape (gradients), if any. */
  checkOutput?: 0 | 1,
): tf.KernelFunc {
  return (args) => {
    const inputs = args.inputs as Record<string, tf.TensorInfo>;
    const a = inputs[names[0]]!;
    const b = inputs[names[1]]!;
    const attrs = args.attrs as unknown as Conv2DAttrs & Record<string, unknown>;
    if (!channelsLastFloat32(attrs, a, b) || isDilated(attrs.dilations)) return fallback(args);
    const { input, filter } = shapes(a, b, attrs);
    const info = convInfo(input, filter, attrs);
    // A gradient of the wrong shape goes to the fallback, whose error says what is wrong.
    if (checkOutput != null && [a, b][checkOutput]!.shape.join(',') !== info.outShape.join(','))
      return fallback(args);
    const out = runNative(
      native,
      op,
      args.backend as unknown as ConvBackend,
      a,
      b,
      outShape(info, attrs),
      info,
      holder.threads,
    );
    return out ?? fallback(args);
  };
}

export function nativeConv2D(
  native: NativeKernels,
  holder: NativeThreads,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return nativeKernel(
    native,
    holder,
    fallback,
    'convForward',
    ['x', 'filter'],
    (x, f) => ({ input: x.shape as Shape4, filter: f.shape as Shape4 }),
    (info) => info.outShape,
  );
}

export function nativeConv2DBackpropFilter(
  native: NativeKernels,
  holder: NativeThreads,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return nativeKernel(
    native,
    holder,
    fallback,
    'convFilterGrad',
    ['x', 'dy'],
    (x, _dy, attrs) => ({ input: x.shape as Shape4, filter: attrs.filterShape as Shape4 }),
    (_info, attrs) => [...(attrs.filterShape as Shape4)],
    1,
  );
}

export function nativeConv2DBackpropInput(
  native: NativeKernels,
  holder: NativeThreads,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return nativeKernel(
    native,
    holder,
    fallback,
    'convInputGrad',
    ['dy', 'filter'],
    (_dy, f, attrs) => ({ input: attrs.inputShape as Shape4, filter: f.shape as Shape4 }),
    (_info, attrs) => [...(attrs.inputShape as Shape4)],
    0,
  );
}
