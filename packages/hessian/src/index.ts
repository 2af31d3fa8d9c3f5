export {
  BLOCK_KINDS,
  type Block,
  type BlockKind,
  blockName,
  type Conv2DBlock,
  type DenseBlock,
  type Padding,
  type Strides,
} from './block';
export { type BlockDims, blockDims, type ScalarOptions } from './dims';
export {
  type BlockScalars,
  backwardFactors,
  blockScalars,
  DEGENERATE_THRESHOLD,
  rowMeanSquaredNorm,
  scalarsFromSquaredNorm,
  squaredFrobeniusNorm,
} from './scalars';
export { validateBlock, validateBlocks } from './validate';
