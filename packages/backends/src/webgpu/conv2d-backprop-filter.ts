// Conv2DBackpropFilter on tfjs-backend-webgpu as one WGSL program with register blocking and a split sum.
//
//   dW[a, b, ci, co] = sum_p X[n, y*s_h + a - p_top, x*s_w + b - p_left, ci] * dY[n, y, x, co],
//   p = (n, y, x) over the K = N * Ho * Wo output positions.
//
// tfjs-backend-webgpu 4.22's kernel gives each thread one dW element and loops over all K positions with two
// scalar reads and the index arithmetic of both per multiply-add, and has only kh*kw*Ci*Co threads (216 for a
// 3x3x3x8 filter). Here a thread computes a 4 (ci) x 4 (co) block of one tap (a, b): 4 + 4 reads and one
// position's index arithmetic per 16 multiply-adds; and T threads (a power of two up to 64, about K / 32)
// share a block's positions (p = t, t + T, ...), their partial sums added in shared memory by a tree.
// The sums are float32 in another order than the cpu backend's (a few ulps of the largest |dW| apart).
//
// Covers NHWC float32 rank-4 tensors, any strides and padding, dilation 1 (tfjs' conv gradients need it);
// anything else goes to the kernel registered before.
import * as tf from '@tensorflow/tfjs-core';
import { isChannelsLast } from '../kernel-utils';
import { type WebGpuProgram, webgpuBackendOf } from './batch-norm-programs';

const THREADS = 64;

/** Threads sharing one block's positions: about K / 32 positions each, a power of two from 1 to 64. */
export function threadsPerBlock(positions: number): number {
  let t = 1;
  while (t < THREADS && t * 2 * 32 <= positions) t *= 2;
  return t;
}

export interface FilterGradGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

export class Conv2DFilterGradProgram implements WebGpuProgram {
  readonly variableNames = ['x', 'dy'];
  readonly outputShape: number[];
  shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [THREADS, 1, 1];
  readonly uniforms =
    'inHeight : i32, inWidth : i32, inChannels : i32, outHeight : i32, outWidth : i32, outChannels : i32, ' +
    'strideH : i32, strideW : i32, padTop : i32, padLeft : i32, positions : i32, filterWidth : i32, ' +
    'ciBlocks : i32, coBlocks : i32, blocks : i32,';
  private readonly perBlock: number;
  readonly uniformData: { type: 'int32'; data: number[] }[];

  constructor(g: FilterGradGeometry) {
    this.outputShape = [g.filterHeight, g.filterWidth, g.inChannels, g.outChannels];
    const positions = g.batch * g.outHeight * g.outWidth;
    this.perBlock = threadsPerBlock(positions);
    const ciBlocks = Math.ceil(g.inChannels / 4);
    const coBlocks = Math.ceil(g.outChannels / 4);
    const blocks = g.filterHeight * g.filterWidth * ciBlocks * coBlocks;
    this.dispatchLayout = { x: [0, 1, 2, 3] };
    this.dispatch = [Math.ceil((blocks * this.perBlock) / THREADS), 1, 1];
    this.shaderKey = `bmpConv2DFilterGrad_${this.perBlock}`;
    this.uniformData = [
      g.inHeight,
      g.inWidth,
      g.inChannels,
      g.outHeight,
      g.outWidth,
      g.outChannels,
      g.strideHeight,
      g.strideWidth,
      g.padTop,
      g.padLeft,
      positions,
      g.filterWidth,
      ciBlocks,
      coBlocks,
      blocks,
    ].map((v) => ({ type: 'int32' as const, data: [v] }));
  }

  getUserCode(): string {
    const t = this.perBlock;
    const rows = [0, 1, 2, 3];
    return `
      var<workgroup> acc : array<vec4<f32>, ${THREADS * 4}>;

      fn main(index : i32) {
        let lid = i32(localIndex);
        // Linear workgroup index (the backend reshapes a long dispatch into 2 or 3 dimensions).
        let wg = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
        let lt = lid % ${t};
        let block = wg * ${THREADS / t} + lid / ${t};
        let valid = block < uniforms.blocks;
        let b0 = min(block, uniforms.blocks - 1);
        let coB = b0 % uniforms.coBlocks;
        let rest = b0 / uniforms.coBlocks;
        let ciB = rest % uniforms.ciBlocks;
        let tap = rest / uniforms.ciBlocks;
        let fa = tap / uniforms.filterWidth;
        let fb = tap % uniforms.filterWidth;
        let ci0 = ciB * 4;
        let co0 = coB * 4;
        let lastCi = uniforms.inChannels - 1;
        let lastCo = uniforms.outChannels - 1;
        // Lanes past the last channel read the last one (in bounds); their sums are never written.
        let ciIdx = vec4<i32>(min(ci0, lastCi), min(ci0 + 1, lastCi), min(ci0 + 2, lastCi), min(ci0 + 3, lastCi));
        let coIdx = vec4<i32>(min(co0, lastCo), min(co0 + 1, lastCo), min(co0 + 2, lastCo), min(co0 + 3, lastCo));
        ${rows.map((j) => `var s${j} = vec4<f32>(0.0);`).join(' ')}
        for (var p = lt; p < uniforms.positions; p = p + ${t}) {
          let xw = p % uniforms.outWidth;
          let q = p / uniforms.outWidth;
          let yh = q % uniforms.outHeight;
          let n = q / uniforms.outHeight;
          let xr = yh * uniforms.strideH + fa - uniforms.padTop;
          let xc = xw * uniforms.strideW + fb - uniforms.padLeft;
          if (xr >= 0 && xr < uniforms.inHeight && xc >= 0 && xc < uniforms.inWidth) {
            let xBase = ((n * uniforms.inHeight + xr) * uniforms.inWidth + xc) * uniforms.inChannels;
            let dyBase = p * uniforms.outChannels;
            let d = vec4<f32>(dy[dyBase + coIdx.x], dy[dyBase + coIdx.y], dy[dyBase + coIdx.z], dy[dyBase + coIdx.w]);
            ${rows.map((j) => `s${j} = s${j} + x[xBase + ciIdx[${j}]] * d;`).join('\n            ')}
          }
        }
        ${rows.map((j) => `acc[lid * 4 + ${j}] = s${j};`).join(' ')}
        workgroupBarrier();
        for (var span = ${t >> 1}; span > 0; span = span / 2) {
          if (lt < span) {
            ${rows.map((j) => `acc[lid * 4 + ${j}] = acc[lid * 4 + ${j}] + acc[(lid + span) * 4 + ${j}];`).join('\n            ')}
          }
          workgroupBarrier();
        }
        if (lt == 0 && valid) {
          for (var j = 0; j < 4; j = j + 1) {
            let ci = ci0 + j;
            if (ci <= lastCi) {
              let sum = acc[lid * 4 + j];
              let base = (tap * uniforms.inChannels + ci) * uniforms.outChannels + co0;
              for (var k = 0; k < 4; k = k + 1) {
                if (co0 + k <= lastCo) {
                  result[base + k] = sum[k];
                }
              }
            }
          }
        }
      }
    `;
  }
}

type FilterGradAttrs = {
  strides: number | [number, number];
  pad: tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
  dataFormat?: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

/** The webgpu Conv2DBackpropFilter kernel: the program above for NHWC float32, else `fallback`. */
export function webgpuConv2DBackpropFilter(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as FilterGradAttrs;
    const backend = webgpuBackendOf(args.backend);
    if (
      backend == null ||
      !isChannelsLast(attrs.dataFormat) ||
      x.shape.length !== 4 ||
      dy.shape.length !== 4 ||
      x.dtype !== 'float32' ||
      dy.dtype !== 'float32'
    ) {
      return fallback(args);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const positions = info.batchSize * info.outHeight * info.outWidth;
    if (
      info.outShape.some((d, i) => d !== dy.shape[i]) ||
      tf.util.sizeFromShape(info.filterShape) === 0 ||
      positions === 0
    ) {
      return fallback(args);
    }
    const program = new Conv2DFilterGradProgram({
      batch: info.batchSize,
      inHeight: info.inHeight,
      inWidth: info.inWidth,
      inChannels: info.inChannels,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
      outChannels: info.outChannels,
      filterHeight: info.filterHeight,
      filterWidth: info.filterWidth,
      strideHeight: info.strideHeight,
      strideWidth: info.strideWidth,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    });
    return backend.runWebGPUProgram(program, [x, dy], 'float32', program.uniformData);
  };
}
