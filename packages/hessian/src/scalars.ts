import * as tf from '@tensorflow/tfjs-core';
import type { Block } from './block';
import { type BlockDims, blockDims, type ScalarOptions } from './dims';

/**
 * Below `DEGENERATE_THRESHOLD * count`, ||W||_F^2 counts as zero: m_{b,W} would be infinite, so the
 * block falls back to m_{b,W} = 1 and is flagged `degenerate`.
 */
export const DEGENERATE_THRESHOLD = 1e-12;

export interface BlockScalars {
  /** m_{b,W}, the scalar standing in for the local Hessian w.r.t. the weights (eq. 24). */
  mW: number;
  /** m_{b,z}, the scalar standing in for the local Hessian w.r.t. the block input (eq. 24). */
  mZ: number;
  /** True when ||W||_F^2 is numerically zero and mW fell back to 1. */
  degenerate: boolean;
}

/** ||W||_F^2 as a scalar tensor (no download). */
export function squaredFrobeniusNorm(weight: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(weight)) as tf.Scalar);
}

/** Applies eq. (24) to a known ||W||_F^2; pure arithmetic, shared by every caller. */
export function scalarsFromSquaredNorm(dims: BlockDims, squaredNorm: number): BlockScalars {
  const degenerate = !(squaredNorm >= DEGENERATE_THRESHOLD * dims.count);
  return { mW: degenerate ? 1 : dims.mWNumerator / squaredNorm, mZ: dims.mZ, degenerate };
}

function readSquaredNorm(block: Block): number {
  const s = squaredFrobeniusNorm(block.weight);
  try {
    return s.dataSync()[0];
  } finally {
    s.dispose();
  }
}

/** ||W||^2_{2,mu}: the mean squared norm of the rows of the paper's W (rows = output units or filters). */
export function rowMeanSquaredNorm(block: Block): number {
  return readSquaredNorm(block) / blockDims(block).rows;
}

/** m_{b,W} and m_{b,z} of eq. (24) for the block's current weights. */
export function blockScalars(block: Block, options: ScalarOptions = {}): BlockScalars {
  return scalarsFromSquaredNorm(blockDims(block, options), readSquaredNorm(block));
}

/**
 * The backward factor m on each block's output (Algorithm 2), in forward order: m = 1 at the
 * network output, and each block passes m * m_{b,z} down to the block below it.
 * m depends on shapes only, so it needs no weights.
 */
export function backwardFactors(blocks: readonly Block[], options: ScalarOptions = {}): number[] {
  const factors = new Array<number>(blocks.length);
  let m = 1;
  for (let b = blocks.length - 1; b >= 0; b--) {
    factors[b] = m;
    m *= blockDims(blocks[b], options).mZ;
  }
  return factors;
}
