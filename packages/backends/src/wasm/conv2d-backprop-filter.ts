// Conv2DBackpropFilter built from a backend's own Conv2D kernel (XNNPACK on wasm).
//
// tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter, so the filter gradient of any conv2d fails
// there. The filter gradient is itself a convolution:
//
//   dW[a, b, ci, co] = sum_{n, y, x} X[n, y*s_h + a - p_top, x*s_w + b - p_left, ci] * dY[n, y, x, co]
//
// Read X transposed to [Ci, H, W, N] as a conv input (batch = Ci, channels = N) and dY transposed to
// [Ho, Wo, N, Co] as a filter (an Ho x Wo window with N input and Co output channels). A stride-1
// convolution of the two whose taps are `s` apart (dilation = stride) yields out[ci, a, b, co] once the
// input is padded by p_top / p_left in front and by whatever makes the output exactly kh x kw behind
// (trailing rows/columns that no output position reads are sliced off instead). Transposing
// [Ci, kh, kw, Co] -> [kh, kw, Ci, Co] gives dW. The padding is handed to Conv2D as explicit padding,
// so the padded input is never materialised.
//
// Covers NHWC, float32, any strides, 'same' / 'valid' / numeric / explicit padding, dilation 1 (tfjs'
// own conv2d gradient requires dilation 1). Anything else throws a clear error.
import * as tf from '@tensorflow/tfjs-core';
import { backendKernel, type ConvAttrs, isChannelsLast, runner, withTemps } from '../kernel-utils';

export const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';

type FilterGradAttrs = ConvAttrs & { filterShape: [number, number, number, number] };

/** The Conv2DBackpropFilter kernel function for `backendName`, built from its Transpose, Slice and Conv2D. */
export function conv2DBackpropFilterViaConv2D(backendName: string): tf.KernelFunc {
  const who = `${backendName} ${CONV2D_BACKPROP_FILTER} (@bmp/backends)`;
  const unsupported = (message: string) => new Error(`${who}: unsupported ${message}`);

  return ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as tf.KernelBackend;
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as FilterGradAttrs;
    if (!isChannelsLast(dataFormat)) throw unsupported(`dataFormat '${dataFormat}' (only NHWC)`);
    if (x.shape.length !== 4 || dy.shape.length !== 4) {
      throw unsupported(`ranks x ${x.shape.length}, dy ${dy.shape.length} (both must be 4)`);
    }
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
      throw unsupported(`dtypes x ${x.dtype}, dy ${dy.dtype} (only float32)`);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const [batch, inH, inW, inC] = x.shape;
    const {
      filterHeight: kh,
      filterWidth: kw,
      strideHeight: sh,
      strideWidth: sw,
      outHeight,
      outWidth,
    } = info;
    const outC = filterShape[3];
    if (
      dy.shape[0] !== batch ||
      dy.shape[1] !== outHeight ||
      dy.shape[2] !== outWidth ||
      dy.shape[3] !== outC
    ) {
      throw unsupported(
        `dy shape [${dy.shape}] for x [${x.shape}], filter [${filterShape}] (expected [${info.outShape}])`,
      );
    }
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    if (top < 0 || left < 0) throw unsupported(`negative padding (top ${top}, left ${left})`);
    // The last tap reads padded row (kh - 1) + (Ho - 1) * sh; pad (or cut) behind to end exactly there.
    let bottom = kh + (outHeight - 1) * sh - inH - top;
    let right = kw + (outWidth - 1) * sw - inW - left;

    const transpose = runner(backendKernel('Transpose', backendName, who), backend);
    return withTemps(backend, (keep) => {
      let xt = keep(transpose({ x }, { perm: [3, 1, 2, 0] })); // [Ci, H, W, N]
      if (bottom < 0 || right < 0) {
        // Trailing input rows/columns that no output position reads.
        const size = [inC, inH + Math.min(bottom, 0), inW + Math.min(right, 0), batch];
        xt = keep(
          runner(backendKernel('Slice', backendName, who), backend)({ x: xt }, { begin: [0, 0, 0, 0], size }),
        );
        bottom = Math.max(bottom, 0);
        right = Math.max(right, 0);
      }
      const dyt = keep(transpose({ x: dy }, { perm: [1, 2, 0, 3] })); // [Ho, Wo, N, Co]
      const conv = keep(
        runner(backendKernel('Conv2D', backendName, who), backend)(
          { x: xt, filter: dyt },
          {
            strides: [1, 1],
            pad: [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ] as unknown as tf.NamedAttrMap[string],
            dataFormat: 'NHWC',
            dilations: [sh, sw],
            dimRoundingMode: undefined as unknown as string,
          },
        ),
      ); // [Ci, kh, kw, Co]
      if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
        throw new Error(`${who}: internal shape error, [${conv.shape}] for a ${kh}x${kw} kernel`);
      }
      return transpose({ x: conv }, { perm: [1, 2, 0, 3] }); // [kh, kw, Ci, Co]
    });
  };
}
