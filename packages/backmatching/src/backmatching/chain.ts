import type { Block, Padding, Strides } from '@bmp/hessian';
import * as tf from '@tensorflow/tfjs-core';
import { batchNorm, conv2d, maxPool2x2, pair } from './ops';

/**
 * One step of a block mapping F_b. Weight ops name the block weight they use by its index in
 * `ChainBlock.weights`.
 */
export type ChainOp =
  | { op: 'dense'; weight: number }
  | { op: 'conv2d'; weight: number; strides?: Strides; padding?: Padding }
  | { op: 'batchNorm'; epsilon: number }
  | { op: 'relu' }
  /** 2x2 max-pool, stride 2, 'valid'. */
  | { op: 'maxPool' }
  | { op: 'flatten' }
  | { op: 'globalAvgPool' }
  | { op: 'zeroPad'; padding: [[number, number], [number, number]] }
  /**
   * z -> S z + phi(z) (eq. 12 with the skip matrix S of Orhan & Pitkow): `skip` is null for the identity,
   * else a fixed kernel in tfjs layout (dense `[n, n]` = S^T, or 1x1 conv `[1, 1, C, C]`).
   */
  | { op: 'residual'; skip: tf.Tensor | null; body: ChainOp[] };

export type ChainBlockKind = 'dense' | 'conv2d' | 'residual';

/**
 * A block of the back-matching chain: z_b = F_b(W_b, z_{b-1}) (eq. 2, 5), W_b being `weights` (one kernel
 * for a dense or conv block, every kernel of phi_b for a residual block).
 */
export interface ChainBlock {
  /** The first weight's variable name (dense/conv blocks, as in `@bmp/hessian`) or the residual block's name. */
  name: string;
  kind: ChainBlockKind;
  weights: tf.Variable[];
  ops: ChainOp[];
  /** Per-sample shape of z_{b-1} and z_b (no batch dimension). */
  inputShape: number[];
  outputShape: number[];
  /** The `@bmp/hessian` descriptor of the block's weight (dense/conv blocks), for eq. (24). */
  descriptor: Block | null;
  /** Which ops follow the weight layer: batch normalisation, ReLU, max-pool. */
  batchNorm: boolean;
  relu: boolean;
  maxPool: boolean;
  /**
   * F_b is linear in W_b for fixed z and linear in z for fixed W_b: one weight op and no BN, ReLU or
   * max-pool. The exact least-squares sub-solvers need it.
   */
  linear: boolean;
}

function applyOp(op: ChainOp, weights: readonly tf.Tensor[], h: tf.Tensor): tf.Tensor {
  switch (op.op) {
    case 'dense':
      return tf.matMul(h as tf.Tensor2D, weights[op.weight] as tf.Tensor2D);
    case 'conv2d':
      return conv2d(h as tf.Tensor4D, weights[op.weight] as tf.Tensor4D, op.strides, op.padding ?? 'same');
    case 'batchNorm':
      return batchNorm(h, op.epsilon);
    case 'relu':
      return tf.relu(h);
    case 'maxPool':
      return maxPool2x2(h as tf.Tensor4D);
    case 'flatten':
      return tf.reshape(h, [h.shape[0], -1]);
    case 'globalAvgPool':
      return tf.mean(h, [1, 2]);
    case 'zeroPad':
      return tf.pad(h, [[0, 0], op.padding[0], op.padding[1], [0, 0]]);
    case 'residual': {
      const phi = applyOps(op.body, weights, h);
      let s = h;
      if (op.skip != null) {
        s =
          op.skip.rank === 2
            ? tf.matMul(h as tf.Tensor2D, op.skip as tf.Tensor2D)
            : tf.conv2d(h as tf.Tensor4D, op.skip as tf.Tensor4D, 1, 'same');
      }
      return tf.add(s, phi);
    }
  }
}

/** Applies a list of ops to a batch (no tidy: callers differentiate through it). */
export function applyOps(ops: readonly ChainOp[], weights: readonly tf.Tensor[], z: tf.Tensor): tf.Tensor {
  let h = z;
  for (const op of ops) h = applyOp(op, weights, h);
  return h;
}

/** F_b(W_b, z_{b-1}) for a batch z of shape `[m, ...inputShape]`; `weights` default to the block's variables. */
export function applyBlock(
  block: ChainBlock,
  z: tf.Tensor,
  weights: readonly tf.Tensor[] = block.weights,
): tf.Tensor {
  return applyOps(block.ops, weights, z);
}

function flatOps(ops: readonly ChainOp[]): ChainOp[] {
  return ops.flatMap((o) => (o.op === 'residual' ? [o, ...flatOps(o.body)] : [o]));
}

/** Per-sample output shape of `ops` on inputs of per-sample shape `inputShape` (computed symbolically). */
export function opsOutputShape(
  ops: readonly ChainOp[],
  weights: readonly tf.Tensor[],
  inputShape: number[],
): number[] {
  let shape = [...inputShape];
  for (const op of ops) {
    switch (op.op) {
      case 'dense':
        shape = [(weights[op.weight].shape as number[])[1]];
        break;
      case 'conv2d': {
        const w = weights[op.weight].shape as number[];
        const s = pair(op.strides);
        const padding = op.padding ?? 'same';
        const [h, wd] = shape;
        let oh: number;
        let ow: number;
        if (padding === 'same') {
          oh = Math.ceil(h / s[0]);
          ow = Math.ceil(wd / s[1]);
        } else {
          const p = padding === 'valid' ? 0 : padding;
          oh = Math.floor((h + 2 * p - w[0]) / s[0]) + 1;
          ow = Math.floor((wd + 2 * p - w[1]) / s[1]) + 1;
        }
        shape = [oh, ow, w[3]];
        break;
      }
      case 'maxPool':
        shape = [Math.floor(shape[0] / 2), Math.floor(shape[1] / 2), shape[2]];
        break;
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'globalAvgPool':
        shape = [shape[shape.length - 1]];
        break;
      case 'zeroPad':
        shape = [
          shape[0] + op.padding[0][0] + op.padding[0][1],
          shape[1] + op.padding[1][0] + op.padding[1][1],
          shape[2],
        ];
        break;
      case 'residual': {
        const out = opsOutputShape(op.body, weights, shape);
        if (out.join() !== shape.join()) {
          throw new Error(`residual body maps [${shape}] to [${out}]: shapes must agree`);
        }
        break;
      }
      default:
        break;
    }
  }
  return shape;
}

export interface ChainBlockSpec {
  name?: string;
  weights: tf.Variable[];
  ops: ChainOp[];
  /** Per-sample input shape (no batch dimension). */
  inputShape: number[];
}

/** Builds a chain block from its ops (flags, shapes and the `@bmp/hessian` descriptor are derived). */
export function chainBlock(spec: ChainBlockSpec): ChainBlock {
  const all = flatOps(spec.ops);
  const weightOps = all.filter((o) => o.op === 'dense' || o.op === 'conv2d');
  if (weightOps.length === 0) throw new Error('a chain block needs at least one weight op');
  for (const o of weightOps) {
    if (o.weight < 0 || o.weight >= spec.weights.length)
      throw new Error(`weight index ${o.weight} out of range`);
  }
  const residual = all.some((o) => o.op === 'residual');
  const first = weightOps[0];
  const kind: ChainBlockKind = residual ? 'residual' : first.op === 'dense' ? 'dense' : 'conv2d';
  const outputShape = opsOutputShape(spec.ops, spec.weights, spec.inputShape);
  let descriptor: Block | null = null;
  if (!residual) {
    const w = spec.weights[first.weight];
    if (first.op === 'dense') {
      descriptor = { weight: w, kind: 'dense' };
    } else {
      const before = spec.ops.slice(0, spec.ops.indexOf(first));
      const inShape = opsOutputShape(before, spec.weights, spec.inputShape);
      const convOut = opsOutputShape([first], spec.weights, inShape);
      descriptor = {
        weight: w,
        kind: 'conv2d',
        inputPositions: inShape[0] * inShape[1],
        outputPositions: convOut[0] * convOut[1],
        strides: first.strides ?? 1,
        padding: first.padding ?? 'same',
      };
    }
  }
  const has = (name: ChainOp['op']) => all.some((o) => o.op === name);
  return {
    name: spec.name ?? (residual ? 'residual' : spec.weights[first.weight].name),
    kind,
    weights: spec.weights,
    ops: spec.ops,
    inputShape: [...spec.inputShape],
    outputShape,
    descriptor,
    batchNorm: has('batchNorm'),
    relu: has('relu'),
    maxPool: has('maxPool'),
    linear: weightOps.length === 1 && !has('batchNorm') && !has('relu') && !has('maxPool'),
  };
}

/** The block with every op after its last BN dropped (ReLU, max-pool, flatten): for measuring what eq. (24) ignores. */
export function truncateAfterNormalisation(block: ChainBlock): ChainBlock {
  if (block.kind === 'residual') return block;
  const ops = block.ops;
  const weightIndex = ops.findIndex((o) => o.op === 'dense' || o.op === 'conv2d');
  let end = weightIndex + 1;
  if (ops[end]?.op === 'batchNorm') end++;
  return chainBlock({
    name: block.name,
    weights: block.weights,
    ops: ops.slice(0, end),
    inputShape: block.inputShape,
  });
}
