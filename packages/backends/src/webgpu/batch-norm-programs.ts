// WGSL compute programs for batch normalisation on batch statistics (NHWC, float32), in the form that
// tfjs-backend-webgpu 4.22 runs with `WebGPUBackend.runWebGPUProgram(program, inputs, dtype, uniforms)`:
// the backend adds the header (one read-only storage buffer per name in `variableNames`, the output
// `result`, and a `uniforms` struct with every tensor's shape and strides, then the fields named in
// `uniforms`, filled in order from the uniform data passed with the run), and calls `main(index)`.
//
// The activations are viewed as `[rows, channels]`, rows = N = the product of all dimensions but the last,
// channels contiguous. Two kinds of program:
// - ChannelReduceProgram: one workgroup per tile of up to 16 channels; its threads walk the rows of their
//   channel with a stride (coalesced reads of neighbouring channels), then a shared-memory tree sums the
//   partial sums (float32 throughout; per-thread sums of N / rowLanes terms, then log2(rowLanes) levels).
//   Modes: the mean, the variance around a given mean (two passes over x: no cancellation), and for the
//   gradient the per-channel means of g and g * xhat together with the per-channel coefficients of the
//   statistics' gradients, in one `[4, channels]` output.
// - elementwise programs (RstdProgram, NormalizeProgram, BatchNormGradProgram): one thread per element.
import type * as tf from '@tensorflow/tfjs-core';

/** What tfjs-backend-webgpu's `runWebGPUProgram` reads from a program (its `WebGPUProgram` interface). */
export interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Program-defined uniform fields, WGSL struct syntax (`name : type,`), after the shapes. */
  uniforms?: string;
  /** Adds `uniforms.size`, the output's element count. */
  size?: boolean;
  getUserCode(): string;
}

/** A uniform value as runWebGPUProgram takes it. */
export interface ProgramUniform {
  type: 'int32' | 'float32';
  data: number[];
}

/** The methods of tfjs-backend-webgpu's WebGPUBackend these kernels use. */
export interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

/** `backend` as a WebGpuBackendLike, or null when it is not tfjs-backend-webgpu's. */
export function webgpuBackendOf(backend: unknown): WebGpuBackendLike | null {
  const b = backend as Partial<WebGpuBackendLike> | null;
  return typeof b?.runWebGPUProgram === 'function' && typeof b.disposeData === 'function'
    ? (b as WebGpuBackendLike)
    : null;
}

/**
 * ReLU and its gradient's mask as tfjs computes them: v for v > 0, NaN for NaN, else 0; the mask 1, NaN or 0
 * (so that a NaN reaches the loss and its gradient as with tfjs' Relu and mul(dy, step(x)), and dy's NaN
 * survives a 0 mask). `isnan` is tfjs-backend-webgpu's bitwise test (a compiler may fold `v != v`).
 */
const RELU_SNIPPET = `
  fn reluOf(v : f32) -> f32 { return select(select(0.0, v, isnan(v)), v, v > 0.0); }
  fn stepOf(v : f32) -> f32 { return select(select(0.0, v, isnan(v)), 1.0, v > 0.0); }
`;

/** Threads per workgroup of the reductions (WebGPU's guaranteed minimum of maxComputeInvocationsPerWorkgroup). */
const REDUCE_THREADS = 256;
/** Threads per workgroup of the elementwise programs. */
const ELEMENTWISE_THREADS = 64;

/** Channel lanes of a reduction workgroup: a power of two up to 16, no wider than needed. */
export function channelLanes(channels: number): number {
  let lanes = 1;
  while (lanes < 16 && lanes < channels) lanes *= 2;
  return lanes;
}

/**
 * What a ChannelReduceProgram computes, per channel c over the rows r (x_rc at index r * channels + c):
 * - 'mean': inputs x; out[c] = S(x) / N;
 * - 'variance': inputs x, mean; out[c] = S((x - mean)^2) / N (biased);
 * - 'gradSums': inputs dy, xhat, rstd, dMean, dVariance, dRstd; g = dy;
 * - 'gradSumsRelu': inputs dy, x, mean, rstd, dMean, dVariance, dRstd; xhat = (x - mean) * rstd as the
 *   forward pass computes it, g = dy * step(xhat) (step: 1 for xhat > 0, NaN for NaN, else 0);
 *   both write `[4, channels]`: S(g) / N, S(g xhat) / N, dMean / N, 2 dVariance / (rstd N) - dRstd rstd^2 / N.
 */
export type ReduceMode = 'mean' | 'variance' | 'gradSums' | 'gradSumsRelu';

const REDUCE_INPUTS: Record<ReduceMode, string[]> = {
  mean: ['x'],
  variance: ['x', 'mean'],
  gradSums: ['dy', 'xhat', 'rstd', 'dMean', 'dVariance', 'dRstd'],
  gradSumsRelu: ['dy', 'x', 'mean', 'rstd', 'dMean', 'dVariance', 'dRstd'],
};

/** Uniforms of the reductions: `rows`, `channels`. */
export function reduceUniforms(rows: number, channels: number): ProgramUniform[] {
  return [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [channels] },
  ];
}

export class ChannelReduceProgram implements WebGpuProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number];
  readonly uniforms = 'rows : i32, channels : i32,';
  private readonly lanes: number;
  private readonly rowLanes: number;

  constructor(
    private readonly mode: ReduceMode,
    channels: number,
  ) {
    this.variableNames = REDUCE_INPUTS[mode];
    this.outputShape = mode === 'gradSums' || mode === 'gradSumsRelu' ? [4, channels] : [channels];
    this.lanes = channelLanes(channels);
    this.rowLanes = REDUCE_THREADS / this.lanes;
    this.workgroupSize = [this.lanes, this.rowLanes, 1];
    this.dispatchLayout = { x: this.outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(channels / this.lanes), 1, 1];
    this.shaderKey = `bmpBatchNormReduce_${mode}_${this.lanes}`;
  }

  getUserCode(): string {
    const { lanes, rowLanes } = this;
    const grad = this.mode === 'gradSums' || this.mode === 'gradSumsRelu';
    const sums = grad ? 2 : 1;
    // The terms summed at element i of channel c (into t0, and t1 for the gradient).
    let terms: string;
    switch (this.mode) {
      case 'mean':
        terms = 'let t0 = x[i];';
        break;
      case 'variance':
        terms = 'let d = x[i] - m; let t0 = d * d;';
        break;
      case 'gradSums':
        terms = 'let g = dy[i]; let t0 = g; let t1 = g * xhat[i];';
        break;
      case 'gradSumsRelu':
        terms = 'let h = (x[i] - m) * r; let g = dy[i] * stepOf(h); let t0 = g; let t1 = g * h;';
        break;
    }
    const perChannel =
      this.mode === 'variance'
        ? 'let m = mean[c];'
        : this.mode === 'gradSumsRelu'
          ? 'let m = mean[c]; let r = rstd[c];'
          : '';
    const write = grad
      ? `
          let r0 = rstd[c];
          result[c] = p0[lx] / n;
          result[uniforms.channels + c] = p1[lx] / n;
          result[2 * uniforms.channels + c] = dMean[c] / n;
          result[3 * uniforms.channels + c] = (dVariance[c] * 2.0) / (r0 * n) - (dRstd[c] * (r0 * r0)) / n;`
      : 'result[c] = p0[lx] / n;';
    const shared = Array.from(
      { length: sums },
      (_, k) => `var<workgroup> p${k} : array<f32, ${lanes * rowLanes}>;`,
    ).join('\n');
    const accumulate = Array.from({ length: sums }, (_, k) => `s${k} = s${k} + t${k};`).join(' ');
    const declare = Array.from({ length: sums }, (_, k) => `var s${k} = 0.0;`).join(' ');
    const store = Array.from({ length: sums }, (_, k) => `p${k}[ly * ${lanes} + lx] = s${k};`).join(' ');
    const fold = Array.from(
      { length: sums },
      (_, k) => `p${k}[ly * ${lanes} + lx] = p${k}[ly * ${lanes} + lx] + p${k}[(ly + span) * ${lanes} + lx];`,
    ).join(' ');
    return `
      ${shared}
      ${this.mode === 'gradSumsRelu' ? RELU_SNIPPET : ''}

      fn main(index : i32) {
        let lx = i32(localId.x);
        let ly = i32(localId.y);
        // Linear workgroup index (the backend reshapes a dispatch longer than its limit into 2 or 3 dimensions).
        let wg = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
        let c = wg * ${lanes} + lx;
        ${declare}
        if (c < uniforms.channels) {
          ${perChannel}
          for (var row = ly; row < uniforms.rows; row = row + ${rowLanes}) {
            let i = row * uniforms.channels + c;
            ${terms}
            ${accumulate}
          }
        }
        ${store}
        workgroupBarrier();
        for (var span = ${rowLanes / 2}; span > 0; span = span / 2) {
          if (ly < span) {
            ${fold}
          }
          workgroupBarrier();
        }
        if (ly == 0 && c < uniforms.channels) {
          let n = f32(uniforms.rows);
          ${write}
        }
      }
    `;
  }
}

function flatDispatch(outputShape: number[]): {
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
} {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / ELEMENTWISE_THREADS), 1, 1],
  };
}

/** rstd = 1 / sqrt(variance + epsilon), per channel. Uniforms: `epsilon`. */
export class RstdProgram implements WebGpuProgram {
  readonly variableNames = ['variance'];
  readonly outputShape: number[];
  shaderKey = 'bmpBatchNormRstd';
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [ELEMENTWISE_THREADS, 1, 1];
  readonly size = true;
  readonly uniforms = 'epsilon : f32,';

  constructor(channels: number) {
    this.outputShape = [channels];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatDispatch(this.outputShape));
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, 1.0 / sqrt(variance[index] + uniforms.epsilon));
        }
      }
    `;
  }
}

/** xhat = (x - mean) * rstd (relu: max(xhat, 0)), x of any shape, statistics per last-axis channel. Uniforms: `channels`. */
export class NormalizeProgram implements WebGpuProgram {
  readonly variableNames = ['x', 'mean', 'rstd'];
  readonly outputShape: number[];
  shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [ELEMENTWISE_THREADS, 1, 1];
  readonly size = true;
  readonly uniforms = 'channels : i32,';

  constructor(
    shape: number[],
    private readonly relu: boolean,
  ) {
    this.outputShape = [...shape];
    this.shaderKey = `bmpBatchNormNormalize_${relu}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatDispatch(this.outputShape));
  }

  getUserCode(): string {
    return `
      ${this.relu ? RELU_SNIPPET : ''}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = index % uniforms.channels;
          let h = (x[index] - mean[c]) * rstd[c];
          setOutputAtIndex(index, ${this.relu ? 'reluOf(h)' : 'h'});
        }
      }
    `;
  }
}

/**
 * dx = rstd (g - M(g) - xhat M(g xhat)) + dMean / N + xhat s, from the `[4, channels]` coefficients of
 * ChannelReduceProgram's gradient modes. relu: inputs dy, x, mean, rstd, coefficients (xhat and g recomputed
 * as there); else dy, xhat, rstd, coefficients. Uniforms: `channels`.
 */
export class BatchNormGradProgram implements WebGpuProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [ELEMENTWISE_THREADS, 1, 1];
  readonly size = true;
  readonly uniforms = 'channels : i32,';

  constructor(
    shape: number[],
    private readonly relu: boolean,
  ) {
    this.variableNames = relu ? ['dy', 'x', 'mean', 'rstd', 'coef'] : ['dy', 'xhat', 'rstd', 'coef'];
    this.outputShape = [...shape];
    this.shaderKey = `bmpBatchNormGrad_${relu}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatDispatch(this.outputShape));
  }

  getUserCode(): string {
    const load = this.relu
      ? 'let h = (x[index] - mean[c]) * r; let g = dy[index] * stepOf(h);'
      : 'let h = xhat[index]; let g = dy[index];';
    return `
      ${this.relu ? RELU_SNIPPET : ''}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let channels = uniforms.channels;
          let c = index % channels;
          let r = rstd[c];
          ${load}
          let centred = g - coef[c] - h * coef[channels + c];
          setOutputAtIndex(index, (r * centred + coef[2 * channels + c]) + h * coef[3 * channels + c]);
        }
      }
    `;
  }
}
