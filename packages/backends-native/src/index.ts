// Loads the native convolution kernels built by scripts/build-native.mjs (at install or build time).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Geometry of an NHWC convolution, in this order: batch, inHeight, inWidth, inChannels, filterHeight,
 * filterWidth, outChannels, outHeight, outWidth, strideHeight, strideWidth, padTop, padLeft (dilation 1).
 */
export type ConvGeometry = Int32Array;

/** The native kernels. Each returns false, writing nothing, when it does not cover the case. */
export interface NativeKernels {
  /** y[n, oh, ow, co] = sum x[n, oh*sh - top + i, ow*sw - left + j, ci] * w[i, j, ci, co]. Needs co % 4 = 0. */
  convForward(
    x: Float32Array,
    w: Float32Array,
    y: Float32Array,
    geometry: ConvGeometry,
    threads: number,
  ): boolean;
  /** dw[i, j, ci, co] = sum over n, oh, ow of x[n, oh*sh - top + i, ow*sw - left + j, ci] * dy[n, oh, ow, co]. Needs co % 4 = 0. */
  convFilterGrad(
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    geometry: ConvGeometry,
    threads: number,
  ): boolean;
  /** dx = the gradient of convForward with respect to x, for stride 1. Needs ci % 4 = 0. */
  convInputGrad(
    dy: Float32Array,
    w: Float32Array,
    dx: Float32Array,
    geometry: ConvGeometry,
    threads: number,
  ): boolean;
  /** out[c] = scale * sum over rows r of x[r * out.length + c] (block sums in double). */
  sumRows(x: Float32Array, out: Float32Array, scale: number, threads?: number): boolean;
  /**
   * out[r, c] = x[r, c] op v[c] (`vectorFirst`: v[c] op x[r, c]) with c < v.length; op 0 add, 1 sub,
   * 2 mul, 3 div.
   */
  broadcastRows(
    op: 0 | 1 | 2 | 3,
    x: Float32Array,
    v: Float32Array,
    out: Float32Array,
    vectorFirst: boolean,
    threads?: number,
  ): boolean;
  /**
   * One momentum-SGD step, each float32 operation rounded on its own (no fused multiply-add):
   * g' = g + wd * w (with `weightDecay`), uOut = decay * u + g', s = nesterov ? g' + mu * uOut : uOut,
   * wOut = w - rate * s. scalars: [wd, decay, rate, mu].
   */
  momentumStep(
    w: Float32Array,
    g: Float32Array,
    u: Float32Array,
    wOut: Float32Array,
    uOut: Float32Array,
    scalars: Float32Array,
    weightDecay: boolean,
    nesterov: boolean,
    threads?: number,
  ): boolean;
  /** y = relu(x) as tfjs-backend-wasm computes it: x for x > 0, NaN for NaN, else +0. */
  relu(x: Float32Array, y: Float32Array, threads?: number): boolean;
  /**
   * Max pooling: each output is its window's largest value (NaN skipped; -Infinity for windows of only
   * NaN or padding). geometry: as for maxPoolGrad.
   */
  maxPool(x: Float32Array, out: Float32Array, geometry: Int32Array, threads?: number): boolean;
  /** dx = dy * step(x) element by element (the ReLU gradient; step is 1 for x > 0, NaN for NaN, else 0). */
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, threads?: number): boolean;
  /**
   * Max-pool gradient: each window's first maximum (row-major, strict >) per channel receives dy.
   * geometry: batch, inHeight, inWidth, channels, outHeight, outWidth, filterHeight, filterWidth,
   * strideHeight, strideWidth, padTop, padLeft.
   */
  maxPoolGrad(
    x: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    geometry: Int32Array,
    threads?: number,
  ): boolean;
  /**
   * Batch norm on batch statistics over the rows of x seen as [rows, C] (C = mean.length):
   * mean, biased variance, rstd = 1 / sqrt(variance + epsilon), xhat = (x - mean) * rstd.
   */
  batchNormForward(
    x: Float32Array,
    xhat: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    rstd: Float32Array,
    epsilon: number,
    threads?: number,
  ): boolean;
  /** dx = rstd * (dy - mean over rows of dy - xhat * mean over rows of dy * xhat), per channel. */
  batchNormBackward(
    dy: Float32Array,
    xhat: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    threads?: number,
  ): boolean;
  /** batchNormForward that writes y = relu(xhat) (as tfjs-backend-wasm's Relu) instead of xhat. */
  batchNormReluForward(
    x: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    rstd: Float32Array,
    epsilon: number,
    threads?: number,
  ): boolean;
  /**
   * The gradient of batchNormReluForward's y: batchNormBackward of dy * step(xhat), with xhat recomputed
   * from x, mean and rstd as the forward pass computed it.
   */
  batchNormReluBackward(
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    threads?: number,
  ): boolean;
  /** The instruction set the addon was compiled for and its widest vector (float lanes). */
  info(): { isa: string; lanes: number };
}

export interface NativeLoadResult {
  /** The kernels, or null when the addon is not built or does not load. */
  kernels: NativeKernels | null;
  /** Where the addon is (or was looked for). */
  path: string;
  /** Why `kernels` is null, or what was loaded. */
  reason: string;
}

declare const __filename: string | undefined;

function packageDir(): string {
  // dist/index.{js,cjs} and src/index.ts both sit one level below the package root.
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  return dirname(dirname(here));
}

/** The path of the compiled addon. */
export const addonPath: string = join(packageDir(), 'build', 'bmp_backends_native.node');

let cached: NativeLoadResult | undefined;

/** Loads the addon once; never throws (the reason says what went wrong). */
export function loadNativeKernels(): NativeLoadResult {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    cached = {
      kernels: null,
      path: addonPath,
      reason:
        `the addon is not built (${addonPath} is missing; it needs a C++17 compiler at install: ` +
        'run `node scripts/build-native.mjs` in @bmp/backends-native, or reinstall with one on PATH)',
    };
    return cached;
  }
  try {
    const require = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
    const kernels = require(addonPath) as NativeKernels;
    const { isa, lanes } = kernels.info();
    cached = { kernels, path: addonPath, reason: `native kernels (${isa}, ${lanes} float lanes)` };
  } catch (error) {
    cached = {
      kernels: null,
      path: addonPath,
      reason: `the addon at ${addonPath} does not load: ${(error as Error).message}`,
    };
  }
  return cached;
}

/** Packs a geometry for the kernels, checking that every value is an integer in range. */
export function convGeometry(g: {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  filterHeight: number;
  filterWidth: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}): ConvGeometry {
  const values = [
    g.batch,
    g.inHeight,
    g.inWidth,
    g.inChannels,
    g.filterHeight,
    g.filterWidth,
    g.outChannels,
    g.outHeight,
    g.outWidth,
    g.strideHeight,
    g.strideWidth,
    g.padTop,
    g.padLeft,
  ];
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || (i < 11 && v < 1)) {
      throw new Error(
        `@bmp/backends-native: convolution geometry value ${i} is ${v} (expected an integer${i < 11 ? ' >= 1' : ''})`,
      );
    }
  });
  return Int32Array.from(values);
}
