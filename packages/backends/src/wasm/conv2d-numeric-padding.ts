// wasm's Conv2D with a numeric padding, made to compute the output tfjs-core allocates.
//
// For `pad: number`, tfjs-core 4.22's computeConv2DInfo sizes the output with the filter height and
// stride height on both axes, and every backend allocates that shape (the cpu backend then computes
// exactly it). tfjs-backend-wasm hands the number to XNNPACK, which sizes the output from the real filter
// width and stride: when the two differ XNNPACK writes more columns than were allocated, past the end of
// the output on the wasm heap (seen: x [3, 6, 5, 8], filter [3, 2, 8, 32], stride 1, pad 1 ended in
// "memory access out of bounds" a few kernels later). This kernel passes the same convolution as explicit
// padding that yields exactly the allocated shape: p in front, and behind whatever makes the last output
// read the last padded row/column (cutting input rows/columns no output reads when that is negative).
// Other paddings go to the stock kernel unchanged.
import * as tf from '@tensorflow/tfjs-core';
import { backendKernel, type ConvAttrs, isChannelsLast, withTemps } from '../kernel-utils';

type Conv2DAttrs = ConvAttrs & { dilations?: number | [number, number] };

export function conv2DNumericPadding(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as Conv2DAttrs;
    if (typeof attrs.pad !== 'number' || !isChannelsLast(attrs.dataFormat) || x.shape.length !== 4)
      return stock(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const { top, left } = info.padInfo;
    const [batch, inH, inW, inC] = x.shape as [number, number, number, number];
    const bottom = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - inH - top;
    const right = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - inW - left;
    const backend = args.backend as tf.KernelBackend;
    return withTemps(backend, (keep) => {
      let input = x;
      if (bottom < 0 || right < 0) {
        const slice = backendKernel('Slice', 'wasm', 'wasm Conv2D (@bmp/backends)');
        const size = [batch, inH + Math.min(bottom, 0), inW + Math.min(right, 0), inC];
        input = keep(
          slice({ inputs: { x }, backend, attrs: { begin: [0, 0, 0, 0], size } }) as tf.TensorInfo,
        );
      }
      const pad = [
        [0, 0],
        [top, Math.max(bottom, 0)],
        [left, Math.max(right, 0)],
        [0, 0],
      ];
      return stock({
        inputs: { x: input, filter },
        backend,
        attrs: { ...args.attrs, pad } as unknown as tf.NamedAttrMap,
      });
    });
  };
}
