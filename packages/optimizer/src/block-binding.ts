import { type Block, type BlockDims, backwardFactors, blockDims, validateBlocks } from '@bmp/hessian';
import * as tf from '@tensorflow/tfjs-core';
import type { NamedBlock } from './options';
import { findRenamed } from './renamed-variables';

/** A block tied to its live variable, with the shape-only quantities the optimizer needs each step. */
export interface BoundBlock {
  name: string;
  block: Block;
  dims: BlockDims;
  /** Backward factor on the block's output (Algorithm 2); shape-only, so fixed for the run. */
  m: number;
}

function isNamed(b: Block | NamedBlock): b is NamedBlock {
  return typeof (b as NamedBlock).name === 'string' && (b as Block).weight == null;
}

/** The serialisable form of a block: its variable's name instead of the variable. */
export function toNamedBlock(b: Block | NamedBlock): NamedBlock {
  if (isNamed(b)) return { ...b };
  const { weight, ...rest } = b;
  return { name: weight.name, ...rest };
}

/** True when every block already carries its variable (so it can be validated at construction). */
export function allBound(blocks: ReadonlyArray<Block | NamedBlock>): blocks is ReadonlyArray<Block> {
  return blocks.every((b) => !isNamed(b));
}

/**
 * Resolves named blocks to variables, validates the chain and computes each block's dims and backward
 * factor. A named block binds to the variable of that name among `stepVariables` (the variables of the
 * first step) or to its tfjs-layers rename `<name>_<n>` there, else to the registered variable of that name.
 */
export function bindBlocks(
  blocks: ReadonlyArray<Block | NamedBlock>,
  positionScaling: boolean,
  stepVariables: readonly string[] = [],
): BoundBlock[] {
  const registered = tf.engine().registeredVariables;
  const resolved = blocks.map((b, i) => {
    if (!isNamed(b)) return b;
    const weight = registered[findRenamed(b.name, stepVariables) ?? b.name];
    if (weight == null) {
      throw new Error(
        `block ${i}: no variable named '${b.name}' is being trained or registered with tfjs; after loading a ` +
          'model, pass blocks that hold its variables (e.g. blocksFromLayersModel(model))',
      );
    }
    const { name: _name, ...rest } = b;
    return { ...rest, weight } as Block;
  });
  validateBlocks(resolved);
  const factors = backwardFactors(resolved, { positionScaling });
  return resolved.map((block, i) => ({
    name: block.weight.name,
    block,
    dims: blockDims(block, { positionScaling }),
    m: factors[i],
  }));
}
