// A faster Conv2DBackpropInput for the tfjs wasm backend, built from its Conv2D kernel (XNNPACK).
//
// TODO(@bmp/backends): like wasm-conv-filter-grad.mjs, this belongs in @bmp/backends and should move
// there. tfjs-backend-wasm 4.22's own Conv2DBackpropInput is a plain loop in C++; on paper VGG13
// (width 0.25, batch 64) it took most of a training step's kernel time here, several times what the
// forward convolutions took, so a benchmark that divides by a training step would flatter anything it
// compares (see bench/optimizer.mjs).
//
// For stride 1 the input gradient is a convolution of dY with the filter flipped in space and with
// its channel axes swapped:
//   dX[n, i, j, ci] = sum_{a, b, co} dYpad[n, i + a, j + b, co] * W[kh-1-a, kw-1-b, ci, co]
// with dY padded by kh-1-p_top in front and by whatever makes the output H x W behind (explicit
// padding handed to XNNPACK). Strides > 1 (which would need a zero-interleaved dY), NCHW, or padding
// that would come out negative are passed to the stock kernel unchanged.
import * as tf from '@tensorflow/tfjs-core';

const BACKEND = 'wasm';
const KERNEL = 'Conv2DBackpropInput';

let stock = null;
let mode = 'conv2d';

/** 'conv2d' (default once registered) or 'stock' (the backend's own kernel): for comparisons. */
export function setWasmInputGradMode(next) {
  if (next !== 'conv2d' && next !== 'stock') throw new Error(`unknown wasm input-gradient mode '${next}'`);
  mode = next;
}

export function wasmInputGradMode() {
  return stock == null ? 'stock' : mode;
}

function kernel(name) {
  const config = tf.getKernel(name, BACKEND);
  if (config == null) throw new Error(`wasm ${KERNEL} needs the wasm backend's ${name} kernel`);
  return config.kernelFunc;
}

function conv2DBackpropInputWasm(args) {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const nhwc = dataFormat == null || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
  if (mode === 'stock' || !nhwc || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    return stock.kernelFunc(args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape,
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
    strideHeight,
    strideWidth,
    inHeight,
    inWidth,
    outHeight,
    outWidth,
  } = info;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = inHeight - outHeight + kh - 1 - top;
  const right = inWidth - outWidth + kw - 1 - left;
  if (strideHeight !== 1 || strideWidth !== 1 || Math.min(top, left, bottom, right) < 0) {
    return stock.kernelFunc(args);
  }
  const temps = [];
  try {
    const flipped = kernel('Reverse')({ inputs: { x: filter }, backend, attrs: { dims: [0, 1] } });
    temps.push(flipped);
    const swapped = kernel('Transpose')({ inputs: { x: flipped }, backend, attrs: { perm: [0, 1, 3, 2] } });
    temps.push(swapped); // [kh, kw, Co, Ci]
    return kernel('Conv2D')({
      inputs: { x: dy, filter: swapped },
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
        dilations: [1, 1],
        dimRoundingMode: undefined,
      },
    });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * Replaces the wasm backend's Conv2DBackpropInput by the Conv2D-based one (keeping the stock kernel
 * for what it does not cover). Call before the wasm backend is initialised or after: the stock
 * kernel's setup is kept. Returns true when this call registered it.
 */
export function registerWasmConv2DBackpropInput() {
  if (stock != null) return false;
  const current = tf.getKernel(KERNEL, BACKEND);
  if (current == null) throw new Error(`the wasm backend has no ${KERNEL} kernel to wrap (is it imported?)`);
  stock = current;
  tf.unregisterKernel(KERNEL, BACKEND);
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: BACKEND,
    setupFunc: current.setupFunc,
    disposeFunc: current.disposeFunc,
    kernelFunc: conv2DBackpropInputWasm,
  });
  return true;
}
