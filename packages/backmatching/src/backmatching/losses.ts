import * as tf from '@tensorflow/tfjs-core';
import { applyBlock, applyOps, type ChainBlock } from './chain';
import type { BlockChain } from './network-chain';
import { halfMeanSquaredError } from './ops';

/** The training loss ell(y; output) of eq. (1) as a function of the network output (a batch mean). */
export type TopLoss = (output: tf.Tensor) => tf.Scalar;

/**
 * Back-matching loss of eq. (5) for a block below the top, with the batch-mean normalisation:
 * l_b(W_b, z_{b-1}) = 1/(2m) ||z_b^{k+1/2} - F_b(W_b, z_{b-1})||^2, m = batch size (the paper writes 1/2 and
 * sums over the batch). No tidy: differentiable.
 */
export function backMatchingLoss(
  block: ChainBlock,
  target: tf.Tensor,
  z: tf.Tensor,
  weights: readonly tf.Tensor[] = block.weights,
): tf.Scalar {
  return halfMeanSquaredError(target, applyBlock(block, z, weights));
}

/**
 * l_b of eq. (5) for either position: the training loss of the block's output at the top (`top` given),
 * the half-mean squared mismatch with `target` below.
 */
export function blockLoss(
  block: ChainBlock,
  objective: { top: TopLoss } | { target: tf.Tensor },
  z: tf.Tensor,
  weights: readonly tf.Tensor[] = block.weights,
): tf.Scalar {
  if ('top' in objective) return objective.top(applyBlock(block, z, weights));
  return backMatchingLoss(block, objective.target, z, weights);
}

/**
 * The forward pass of a chain: [z_0, z_1, ..., z_B], z_0 = preprocess(X), z_b = F_b(W_b, z_{b-1})
 * (batch normalisation in training mode, on the batch's statistics). The caller disposes the tensors.
 */
export function forwardChain(chain: BlockChain, x: tf.Tensor): tf.Tensor[] {
  return tf.tidy(() => {
    const z0 = applyOps(chain.preprocess, [], x);
    const zs: tf.Tensor[] = [z0 === x ? tf.clone(x) : z0];
    for (const block of chain.blocks) zs.push(applyBlock(block, zs[zs.length - 1]));
    return zs;
  });
}

/**
 * The quadratic-penalty objective of eq. (2) with the batch-mean normalisation:
 * Q(W, z; gamma) = ell(y, F_B(W_B, z_{B-1})) + sum_{b<B} gamma/(2m) ||z_b - F_b(W_b, z_{b-1})||^2.
 * `zs` = [z_0, ..., z_{B-1}] (z_0 the preprocessed input). Returns a number.
 */
export function quadraticPenalty(
  chain: BlockChain,
  zs: readonly tf.Tensor[],
  top: TopLoss,
  gamma: number,
): number {
  const B = chain.blocks.length;
  if (zs.length !== B) throw new Error(`quadraticPenalty needs z_0..z_{B-1}: ${B} tensors, got ${zs.length}`);
  return tf.tidy(() => {
    let q = top(applyBlock(chain.blocks[B - 1], zs[B - 1]));
    for (let b = 0; b < B - 1; b++) {
      q = tf.add(q, tf.mul(gamma, backMatchingLoss(chain.blocks[b], zs[b + 1], zs[b])));
    }
    return q.dataSync()[0];
  });
}
