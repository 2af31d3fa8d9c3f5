// A fast Conv2DBackpropInput for the wasm backend, built from its Conv2D kernel (XNNPACK).
//
// tfjs-backend-wasm 4.22's own Conv2DBackpropInput is a plain C++ loop, several times slower than the
// forward convolution. The input gradient is a convolution of dY with the filter flipped in space and
// its channel axes swapped:
//
//   dX[n, i, j, ci] = sum_{a, b, co} dYd[n, i + a - t, j + b - l, co] * W[kh-1-a, kw-1-b, ci, co]
//
// where dYd is dY with s_h - 1 zero rows (s_w - 1 zero columns) inserted after every row (column), so
// that dYd[y * s_h] = dY[y], t = kh - 1 - p_top and l = kw - 1 - p_left. For stride 1 dYd is dY itself;
// otherwise it is built with Reshape + PadV2 + Reshape ([N, Ho, 1, Wo, 1, C] padded to
// [N, Ho, s_h, Wo, s_w, C]). The padding t / l in front and whatever makes the output exactly H x W
// behind is handed to Conv2D as explicit padding; trailing rows/columns that no output reads are sliced
// off when that padding would be negative.
//
// Covers NHWC float32, any strides, 'same' / 'valid' / numeric / explicit padding, any kernel size
// (dilation 1: Conv2DBackpropInput has no dilation). Front padding larger than kernel - 1 (explicit
// padding only) and NCHW go to the stock kernel, which is correct, only slower.
import * as tf from '@tensorflow/tfjs-core';
import { backendKernel, type ConvAttrs, isChannelsLast, runner, withTemps } from '../kernel-utils';

export const CONV2D_BACKPROP_INPUT = 'Conv2DBackpropInput';

type InputGradAttrs = ConvAttrs & { inputShape: [number, number, number, number] };

/**
 * The Conv2DBackpropInput kernel for `backendName` built from its Conv2D, Reverse, Transpose, Reshape,
 * PadV2 and Slice kernels; `fallback` runs the configurations it does not cover.
 */
export function conv2DBackpropInputViaConv2D(backendName: string, fallback: tf.KernelFunc): tf.KernelFunc {
  const who = `${backendName} ${CONV2D_BACKPROP_INPUT} (@bmp/backends)`;
  return (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as tf.KernelBackend;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as InputGradAttrs;
    if (!isChannelsLast(dataFormat) || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      return fallback(args);
    }
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const {
      filterHeight: kh,
      filterWidth: kw,
      strideHeight: sh,
      strideWidth: sw,
      outHeight,
      outWidth,
    } = info;
    const [batch, inH, inW] = inputShape;
    const outC = dy.shape[3];
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    if (top < 0 || left < 0) return fallback(args);
    // Rows of dYd that exist: Ho * s_h (the trailing s_h - 1 are zeros); the output needs H + kh - 1.
    let dilH = outHeight * sh;
    let dilW = outWidth * sw;
    const bottom = inH + kh - 1 - top - dilH;
    const right = inW + kw - 1 - left - dilW;

    const run = (name: string) => runner(backendKernel(name, backendName, who), backend);
    return withTemps(backend, (keep) => {
      let d = dy;
      if (sh !== 1 || sw !== 1) {
        const r6 = keep(run('Reshape')({ x: dy }, { shape: [batch, outHeight, 1, outWidth, 1, outC] }));
        const padded = keep(
          run('PadV2')(
            { x: r6 },
            {
              paddings: [
                [0, 0],
                [0, 0],
                [0, sh - 1],
                [0, 0],
                [0, sw - 1],
                [0, 0],
              ] as unknown as tf.NamedAttrMap[string],
              constantValue: 0,
            },
          ),
        );
        d = keep(run('Reshape')({ x: padded }, { shape: [batch, dilH, dilW, outC] }));
      }
      if (bottom < 0 || right < 0) {
        dilH += Math.min(bottom, 0);
        dilW += Math.min(right, 0);
        d = keep(run('Slice')({ x: d }, { begin: [0, 0, 0, 0], size: [batch, dilH, dilW, outC] }));
      }
      const flipped = keep(run('Reverse')({ x: filter }, { dims: [0, 1] }));
      const swapped = keep(run('Transpose')({ x: flipped }, { perm: [0, 1, 3, 2] })); // [kh, kw, Co, Ci]
      return run('Conv2D')(
        { x: d, filter: swapped },
        {
          strides: [1, 1],
          pad: [
            [0, 0],
            [top, Math.max(bottom, 0)],
            [left, Math.max(right, 0)],
            [0, 0],
          ] as unknown as tf.NamedAttrMap[string],
          dataFormat: 'NHWC',
          dilations: [1, 1],
          dimRoundingMode: undefined as unknown as string,
        },
      );
    });
  };
}
