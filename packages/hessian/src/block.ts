import type * as tf from '@tensorflow/tfjs-core';

/** Spatial strides of a convolution, as one number or `[strideH, strideW]`. */
export type Strides = number | [number, number];

/** Padding of a convolution: tfjs' `'same' | 'valid'`, or explicit symmetric pixels per side. */
export type Padding = 'same' | 'valid' | number;

/**
 * A fully connected weight layer and what follows it up to the next weight layer.
 * The kernel uses tfjs' dense layout `[nIn, nOut]` (the paper's W is its transpose, `nOut x nIn`).
 */
export interface DenseBlock {
  weight: tf.Variable;
  kind: 'dense';
}

/**
 * A 2-D convolution and what follows it up to the next weight layer. The kernel uses tfjs' layout
 * `[kh, kw, cIn, cOut]`. Positions are the number of spatial positions (H * W) of the convolution's
 * input and output feature maps.
 */
export interface Conv2DBlock {
  weight: tf.Variable;
  kind: 'conv2d';
  inputPositions: number;
  outputPositions: number;
  strides?: Strides;
  padding?: Padding;
}

/**
 * The block descriptor shared by models, optimizer and Hessian tools, listed in forward order.
 * A block is named by its weight variable's name.
 */
export type Block = DenseBlock | Conv2DBlock;

export type BlockKind = Block['kind'];

export const BLOCK_KINDS: readonly BlockKind[] = ['dense', 'conv2d'];

/** The name that identifies a block: its weight variable's name. */
export function blockName(block: Block): string {
  return block.weight.name;
}
