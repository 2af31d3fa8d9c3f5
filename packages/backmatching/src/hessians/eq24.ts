import { type BlockScalars, blockScalars, type ScalarOptions } from '@bmp/hessian';
import type * as tf from '@tensorflow/tfjs-core';
import { type ChainBlock, opsOutputShape, truncateAfterNormalisation } from '../backmatching/chain';
import { forwardChain, type TopLoss } from '../backmatching/losses';
import type { BlockChain } from '../backmatching/network-chain';
import { convPadding, pair } from '../backmatching/ops';
import { localHessianOperator } from './local-hessian';
import { operatorTrace, type TraceEstimate, type TraceOptions } from './trace';

export interface ScalarComparisonOptions extends ScalarOptions {
  /** The training loss at the top (the last block's l_B). */
  top: TopLoss;
  trace?: TraceOptions;
  /** Also measure the block without what follows its BN (ReLU, max-pool): what eq. (24) ignores. Default true. */
  measureWithoutActivation?: boolean;
}

export interface TraceRatios {
  /** trace(H_W) / dim(H_W). */
  traceOverDimHW: number;
  /** m * trace(H_z) / dim(H_z): the trace per input coordinate of the per-sample Hessian (see README). */
  traceOverDimHz: number;
  /** traceOverDimHW / mW. */
  ratioW: number;
  /** traceOverDimHz / mZ. */
  ratioZ: number;
  hW: TraceEstimate;
  hZ: TraceEstimate;
}

export interface ScalarComparison extends TraceRatios {
  index: number;
  name: string;
  kind: 'dense' | 'conv2d';
  batchNorm: boolean;
  relu: boolean;
  maxPool: boolean;
  top: boolean;
  /** eq. (24) from `@bmp/hessian`. */
  mW: number;
  mZ: number;
  /** Conv blocks: the share of (output position, filter tap) pairs that fall inside the input map (1 for dense). */
  visibleTapFraction: number;
  /** The same measurement on the block cut after its BN (null when nothing follows the BN/weight layer). */
  withoutActivation: TraceRatios | null;
}

/** Share of (output position, tap) pairs inside the map: 4/9 for a 3x3 'same' filter on a 2x2 map. */
export function visibleTapFraction(block: ChainBlock): number {
  const d = block.descriptor;
  if (d == null || d.kind !== 'conv2d') return 1;
  const w = d.weight.shape as number[];
  const convIndex = block.ops.findIndex((o) => o.op === 'conv2d');
  const [h, wd] = opsOutputShape(block.ops.slice(0, convIndex), block.weights, block.inputShape);
  const s = pair(d.strides);
  const [top, bottom, left, right] = convPadding(h, wd, w[0], w[1], s, d.padding ?? 'same');
  const ho = Math.floor((h + top + bottom - w[0]) / s[0]) + 1;
  const wo = Math.floor((wd + left + right - w[1]) / s[1]) + 1;
  let seen = 0;
  for (let oh = 0; oh < ho; oh++) {
    for (let ow = 0; ow < wo; ow++) {
      for (let a = 0; a < w[0]; a++) {
        for (let b = 0; b < w[1]; b++) {
          const ih = oh * s[0] - top + a;
          const iw = ow * s[1] - left + b;
          if (ih >= 0 && ih < h && iw >= 0 && iw < wd) seen++;
        }
      }
    }
  }
  return seen / (ho * wo * w[0] * w[1]);
}

function measure(
  block: ChainBlock,
  z: tf.Tensor,
  objective: { top: TopLoss } | undefined,
  scalars: BlockScalars,
  trace: TraceOptions | undefined,
): TraceRatios {
  const m = z.shape[0];
  const opW = localHessianOperator({ block, z, objective, wrt: 'W', form: 'gauss-newton' });
  const opZ = localHessianOperator({ block, z, objective, wrt: 'z', form: 'gauss-newton' });
  const hW = operatorTrace(opW, trace);
  const hZ = operatorTrace(opZ, trace);
  const traceOverDimHW = hW.trace / opW.dim;
  const traceOverDimHz = (m * hZ.trace) / opZ.dim;
  return {
    traceOverDimHW,
    traceOverDimHz,
    ratioW: traceOverDimHW / scalars.mW,
    ratioZ: traceOverDimHz / scalars.mZ,
    hW,
    hZ,
  };
}

/**
 * How good eq. (24) is: for each dense/conv block of a chain, trace/dim of its local Hessians (Gauss-Newton
 * form at zero residual, i.e. target z_b^{k+1/2} = z_b^k, where it equals the exact Hessian; the training
 * loss at the top) against m_{b,W} and m_{b,z} of `@bmp/hessian`. Traces are exact for dimensions up to
 * `trace.exactMaxDim`, Hutchinson estimates above. Residual blocks (no eq. 24 scalars) are skipped.
 */
export function compareWithScalars(
  chain: BlockChain,
  x: tf.Tensor,
  options: ScalarComparisonOptions,
): ScalarComparison[] {
  const zs = forwardChain(chain, x);
  const B = chain.blocks.length;
  const out: ScalarComparison[] = [];
  try {
    for (let b = 0; b < B; b++) {
      const block = chain.blocks[b];
      if (block.descriptor == null) continue;
      const isTop = b === B - 1;
      const objective = isTop ? { top: options.top } : undefined;
      const scalars = blockScalars(block.descriptor, options);
      const full = measure(block, zs[b], objective, scalars, options.trace);
      let withoutActivation: TraceRatios | null = null;
      const cut = truncateAfterNormalisation(block);
      if ((options.measureWithoutActivation ?? true) && !isTop && cut.ops.length < block.ops.length) {
        withoutActivation = measure(cut, zs[b], undefined, scalars, options.trace);
      }
      out.push({
        index: b,
        name: block.name,
        kind: block.kind as 'dense' | 'conv2d',
        batchNorm: block.batchNorm,
        relu: block.relu,
        maxPool: block.maxPool,
        top: isTop,
        mW: scalars.mW,
        mZ: scalars.mZ,
        visibleTapFraction: visibleTapFraction(block),
        ...full,
        withoutActivation,
      });
    }
  } finally {
    for (const t of zs) t.dispose();
  }
  return out;
}
