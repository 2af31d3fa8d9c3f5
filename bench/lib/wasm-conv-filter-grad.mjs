// Conv2DBackpropFilter for the tfjs wasm backend, built from the wasm backend's own Conv2D kernel.
//
// TODO(@bmp/backends): this belongs in @bmp/backends ("makes wasm able to train conv nets") and should
// move there when that package exists; it lives under bench/ only so that the benchmarks can train a
// conv net on wasm today.
//
// tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter kernel, so tf.grad of any conv2d with
// respect to its filter fails there. The filter gradient is itself a convolution:
//
//   dW[kh, kw, ci, co] = sum_{n, y, x} X[n, y*s_h + kh - p_top, x*s_w + kw - p_left, ci] * dY[n, y, x, co]
//
// Read X transposed to [Ci, H, W, N] as a conv input (batch = Ci, channels = N) and dY transposed to
// [Ho, Wo, N, Co] as a filter (an Ho x Wo window with N input and Co output channels). A stride-1
// convolution of the two whose filter taps are `s` apart (dilation = stride) yields out[ci, kh, kw, co],
// once the input is padded by p_top / p_left in front and by whatever makes the output exactly kh x kw
// behind (trailing rows/columns that no output position reads are sliced off instead). Transposing
// [Ci, kh, kw, Co] -> [kh, kw, Ci, Co] gives dW. Padding is passed to the Conv2D kernel as explicit
// padding (XNNPACK pads implicitly), so the padded input is never materialised.
//
// Supported: NHWC, any strides, 'same' / 'valid' / numeric / explicit padding, dilation 1 (tfjs'
// conv2d gradient itself requires dilation 1). Anything else throws.
//
// The same construction works on the cpu backend, whose stock Conv2DBackpropFilter (element-wise
// TensorBuffer access) measured ~35x slower than its own Conv2D here, ~90% of a paper-VGG13 training
// step; registerCpuConv2DBackpropFilter() swaps it in there, keeping the stock kernel selectable.
import * as tf from '@tensorflow/tfjs-core';

const KERNEL = 'Conv2DBackpropFilter';

/**
 * The kernel function for `backendName`, whose Transpose, Slice and Conv2D kernels do the work:
 * inputs { x, dy }, attrs { strides, pad, dataFormat, dimRoundingMode, filterShape }.
 */
export function conv2DBackpropFilterViaConv2D(backendName) {
  const kernel = (name) => {
    const config = tf.getKernel(name, backendName);
    if (config == null) {
      throw new Error(
        `${backendName} ${KERNEL} needs the ${backendName} backend's ${name} kernel (not registered)`,
      );
    }
    return config.kernelFunc;
  };
  const unsupported = (message) =>
    new Error(`${backendName} ${KERNEL} (bench/lib/wasm-conv-filter-grad.mjs): unsupported ${message}`);

  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
    if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
      throw unsupported(`dataFormat '${dataFormat}' (only NHWC)`);
    }
    if (x.shape.length !== 4 || dy.shape.length !== 4) {
      throw unsupported(`ranks x ${x.shape.length}, dy ${dy.shape.length} (both must be 4)`);
    }
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
      throw unsupported(`dtypes x ${x.dtype}, dy ${dy.dtype} (only float32)`);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
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

    const transpose = kernel('Transpose');
    const temps = [];
    const temp = (t) => {
      temps.push(t);
      return t;
    };
    try {
      let xt = temp(transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } })); // [Ci, H, W, N]
      if (bottom < 0 || right < 0) {
        // Trailing input rows/columns that no output position reads.
        const size = [inC, inH + Math.min(bottom, 0), inW + Math.min(right, 0), batch];
        xt = temp(kernel('Slice')({ inputs: { x: xt }, backend, attrs: { begin: [0, 0, 0, 0], size } }));
        bottom = Math.max(bottom, 0);
        right = Math.max(right, 0);
      }
      const dyt = temp(transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } })); // [Ho, Wo, N, Co]
      const conv = temp(
        kernel('Conv2D')({
          inputs: { x: xt, filter: dyt },
          backend,
          attrs: {
            strides: [1, 1],
            pad: [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ],
            dataFormat: 'NHWC',
            dilations: [sh, sw],
            dimRoundingMode: undefined,
          },
        }),
      ); // [Ci, kh, kw, Co]
      if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
        throw new Error(
          `${backendName} ${KERNEL}: internal shape error, [${conv.shape}] for a ${kh}x${kw} kernel`,
        );
      }
      return transpose({ inputs: { x: conv }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [kh, kw, Ci, Co]
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

/**
 * Registers the kernel for the wasm backend unless one is registered already (a future
 * tfjs-backend-wasm, or a second import). Returns true when this call registered it.
 */
export function registerWasmConv2DBackpropFilter() {
  if (tf.getKernel(KERNEL, 'wasm') != null) return false;
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilterViaConv2D('wasm'),
  });
  return true;
}

let cpuStock = null;
let cpuMode = 'conv2d';

/** cpu backend: 'conv2d' (the Conv2D-based kernel; the default once registered) or 'stock'. */
export function setCpuFilterGradMode(next) {
  if (next !== 'conv2d' && next !== 'stock') throw new Error(`unknown cpu filter-gradient mode '${next}'`);
  cpuMode = next;
}

export function cpuFilterGradMode() {
  return cpuStock == null ? 'stock' : cpuMode;
}

/**
 * Replaces the cpu backend's Conv2DBackpropFilter by the Conv2D-based one; the stock kernel is kept
 * for setCpuFilterGradMode('stock') and for NCHW. Returns true when this call registered it.
 */
export function registerCpuConv2DBackpropFilter() {
  if (cpuStock != null) return false;
  const stock = tf.getKernel(KERNEL, 'cpu');
  if (stock == null) throw new Error(`the cpu backend has no ${KERNEL} kernel to wrap (is it imported?)`);
  cpuStock = stock;
  const viaConv2D = conv2DBackpropFilterViaConv2D('cpu');
  tf.unregisterKernel(KERNEL, 'cpu');
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'cpu',
    setupFunc: stock.setupFunc,
    disposeFunc: stock.disposeFunc,
    kernelFunc: (args) => {
      const format = args.attrs.dataFormat;
      const nhwc = format == null || format === 'NHWC' || format === 'channelsLast';
      return cpuMode === 'stock' || !nhwc ? stock.kernelFunc(args) : viaConv2D(args);
    },
  });
  return true;
}
