import type * as tf from '@tensorflow/tfjs-core';
import { type ChainBlock, type ChainOp, chainBlock } from './chain';

/**
 * The part of a `@bmp/models` `Network` that the chain needs (structural, so this package does not depend
 * on `@bmp/models` at run time).
 */
export interface NetworkLike {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly batchNormEpsilon: number;
  readonly residualBlocks: ReadonlyArray<{ name: string; skipWeight: tf.Variable | null }>;
  describe(): Array<{ name: string; op: string; inputs: string[]; shape: number[] }>;
  namedVariables(): Map<string, tf.Variable>;
}

/**
 * A network as a back-matching chain: z_0 = `preprocess`(X) (parameter-free layers before the first
 * weight layer, e.g. VGG's zero padding), z_b = F_b(W_b, z_{b-1}) for b = 1..B, z_B = logits.
 */
export interface BlockChain {
  preprocess: ChainOp[];
  /** Per-sample shape of X. */
  inputShape: number[];
  blocks: ChainBlock[];
}

/**
 * Splits a `@bmp/models` network into blocks (as in @bmp/hessian: one weight layer and what follows it up
 * to the next weight layer; a residual block z_b = S z_{b-1} + phi_b(W_b, z_{b-1}) is one block whose W_b is every
 * kernel of phi_b). Parameter-free layers after a residual sum (global average pooling) open the next block.
 */
export function blockChain(net: NetworkLike): BlockChain {
  const nodes = net.describe();
  const vars = net.namedVariables();
  const shapes = new Map(nodes.map((n) => [n.name, n.shape]));
  const residualNames = new Set(net.residualBlocks.map((r) => r.name));
  const kernel = (id: string) => {
    const v = vars.get(`${id}/kernel`);
    if (v == null) throw new Error(`model '${net.name}': no kernel for layer '${id}'`);
    return v;
  };
  const residualOf = (id: string) => {
    const m = /^(res\d+)_/.exec(id);
    return m != null && residualNames.has(m[1]) ? m[1] : null;
  };
  const simpleOp = (n: (typeof nodes)[number]): ChainOp => {
    switch (n.op) {
      case 'batchNorm':
        return { op: 'batchNorm', epsilon: net.batchNormEpsilon };
      case 'relu':
        return { op: 'relu' };
      case 'maxPool':
        return { op: 'maxPool' };
      case 'flatten':
        return { op: 'flatten' };
      case 'globalAvgPool':
        return { op: 'globalAvgPool' };
      case 'zeroPad': {
        const [h, w] = shapes.get(n.inputs[0])!;
        const [H, W] = n.shape;
        const top = Math.floor((H - h) / 2);
        const left = Math.floor((W - w) / 2);
        return {
          op: 'zeroPad',
          padding: [
            [top, H - h - top],
            [left, W - w - left],
          ],
        };
      }
      default:
        throw new Error(`model '${net.name}': unexpected layer '${n.name}' (${n.op})`);
    }
  };

  const preprocess: ChainOp[] = [];
  const blocks: ChainBlock[] = [];
  let current: { weights: tf.Variable[]; ops: ChainOp[]; inputShape: number[] } | null = null;
  // Parameter-free layers after a residual sum: they open the next block; `boundary` is z's shape before them.
  let pending: ChainOp[] = [];
  let boundary: number[] = [...net.inputShape];
  let lastShape: number[] = [...net.inputShape];
  const close = () => {
    if (current != null) blocks.push(chainBlock(current));
    current = null;
  };

  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (n.op === 'input') continue;
    const res = residualOf(n.name);
    if (res != null) {
      close();
      const members: typeof nodes = [];
      while (i < nodes.length && residualOf(nodes[i].name) === res) members.push(nodes[i++]);
      i--;
      const weights: tf.Variable[] = [];
      const body: ChainOp[] = [];
      let skip: tf.Tensor | null = null;
      for (const m of members) {
        if (m.name === `${res}_skip`) skip = kernel(m.name);
        else if (m.op === 'add') continue;
        else if (m.op === 'dense' || m.op === 'conv2d') {
          weights.push(kernel(m.name));
          body.push(
            m.op === 'dense'
              ? { op: 'dense', weight: weights.length - 1 }
              : { op: 'conv2d', weight: weights.length - 1, strides: 1, padding: 'same' },
          );
        } else body.push(simpleOp(m));
      }
      const inputShape = pending.length > 0 ? boundary : lastShape;
      blocks.push(
        chainBlock({ name: res, weights, ops: [...pending, { op: 'residual', skip, body }], inputShape }),
      );
      pending = [];
      lastShape = members[members.length - 1].shape;
      boundary = lastShape;
      continue;
    }
    if ((n.op === 'dense' || n.op === 'conv2d') && kernel(n.name).trainable) {
      close();
      const inputShape = pending.length > 0 ? boundary : lastShape;
      const weightOp: ChainOp =
        n.op === 'dense'
          ? { op: 'dense', weight: 0 }
          : { op: 'conv2d', weight: 0, strides: 1, padding: 'same' };
      current = { weights: [kernel(n.name)], ops: [...pending, weightOp], inputShape };
      pending = [];
    } else if (current != null) {
      current.ops.push(simpleOp(n));
    } else if (blocks.length === 0) {
      preprocess.push(simpleOp(n));
    } else {
      pending.push(simpleOp(n));
    }
    lastShape = n.shape;
  }
  close();
  return { preprocess, inputShape: [...net.inputShape], blocks };
}
