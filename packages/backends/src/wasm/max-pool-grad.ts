// MaxPoolGrad for the wasm backend as one pass of JavaScript over the wasm heap.
//
// tfjs-backend-wasm 4.22's MaxPoolGrad is a generic C++ loop, ~2.5x slower than this on the paper VGG's
// largest pool ([64, 32, 32, 16], 2x2), and it misplaces the gradient of windows whose values are all
// negative (it goes to the window's first element). This kernel visits each pooling window once with the
// channel axis innermost (contiguous in NHWC), keeps the first maximum per channel and adds dy there:
//
//   dx[n, y, x, c] = sum over windows w containing (y, x) whose first maximum (row-major in w, strict >)
//                    is at (y, x) of dy[n, w, c]
//
// which is the cpu backend's rule (ties: the first maximum; windows of only NaN / -Infinity pass no
// gradient). Covers float32 NHWC, every filter size, stride and padding (dilation 1: MaxPoolGrad has
// none); other dtypes go to the stock kernel.
import type { NativeKernels } from '@bmp/backends-native';
import * as tf from '@tensorflow/tfjs-core';
import { heapOf } from './heap';
import type { NativeThreads } from './native-conv';
import { type PoolAttrs, packPoolGeometry, poolInfo } from './pool-info';

export const MAX_POOL_GRAD = 'MaxPoolGrad';

/**
 * The wasm MaxPoolGrad kernel; `fallback` (the stock kernel) runs what it does not cover. With `native`
 * (@bmp/backends-native) the same pass runs in C++ (measured 8x faster on [64, 32, 32, 16]).
 */
export function maxPoolGradOnHeap(
  fallback: tf.KernelFunc,
  native?: NativeKernels,
  holder: NativeThreads = { threads: 1 },
): tf.KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const backend = heapOf(args.backend);
    if (input.dtype !== 'float32' || dy.dtype !== 'float32' || input.shape.length !== 4 || backend == null) {
      return fallback(args);
    }
    const info = poolInfo(input.shape, args.attrs as unknown as PoolAttrs);
    const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
    if (dy.shape.join(',') !== info.outShape.join(',')) {
      throw new Error(
        `wasm ${MAX_POOL_GRAD} (@bmp/backends): dy shape [${dy.shape}] for input [${input.shape}] (expected [${info.outShape}])`,
      );
    }
    const out = backend.makeOutput([...input.shape], 'float32');
    if (tf.util.sizeFromShape(input.shape) === 0) return out;
    // Views taken after the allocation: growing the wasm memory detaches older ones.
    const x = backend.typedArrayFromHeap(input) as Float32Array;
    const g = backend.typedArrayFromHeap(dy) as Float32Array;
    const dx = backend.typedArrayFromHeap(out) as Float32Array;
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    if (native != null) {
      native.maxPoolGrad(x, g, dx, packPoolGeometry(info), holder.threads);
      return out;
    }
    dx.fill(0);
    const best = new Float32Array(C);
    const at = new Int32Array(C);
    for (let n = 0; n < batchSize; n++) {
      for (let oy = 0; oy < OH; oy++) {
        const y0 = oy * sh - top;
        const yMin = Math.max(0, y0);
        const yMax = Math.min(H, y0 + fh);
        for (let ox = 0; ox < OW; ox++) {
          const x0 = ox * sw - left;
          const xMin = Math.max(0, x0);
          const xMax = Math.min(W, x0 + fw);
          best.fill(Number.NEGATIVE_INFINITY);
          at.fill(-1);
          for (let y = yMin; y < yMax; y++) {
            for (let xx = xMin; xx < xMax; xx++) {
              const base = ((n * H + y) * W + xx) * C;
              for (let c = 0; c < C; c++) {
                const v = x[base + c];
                if (v > best[c]) {
                  best[c] = v;
                  at[c] = base + c;
                }
              }
            }
          }
          const dyBase = ((n * OH + oy) * OW + ox) * C;
          for (let c = 0; c < C; c++) {
            const i = at[c];
            if (i >= 0) dx[i] += g[dyBase + c];
          }
        }
      }
    }
    return out;
  };
}
