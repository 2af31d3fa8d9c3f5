// The kernels the addon exports (src/native/addon.cc), as TypeScript sees them.

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
  /** The CPU features the variants need, as the CPU and OS report them (names as in /proc/cpuinfo). */
  cpuFeatures(): Record<string, boolean>;
}
