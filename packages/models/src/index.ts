export type { Block, Conv2DBlock, DenseBlock } from '@bmp/hessian';
export { BATCH_NORM_RELU_TRAINING_KERNEL, BATCH_NORM_TRAINING_KERNEL } from './batch-norm';
export type { CommonOptions } from './common';
export type { FeatureShape, GraphOp } from './graph';
export { DEFAULT_GAUSSIAN_STD, type InitSpec, orthogonalKernel, resolveInit } from './init';
export { type MlpOptions, mlp } from './mlp';
export {
  type ApplyOptions,
  BATCH_NORM_EPSILON,
  BATCH_NORM_MOMENTUM,
  Network,
  type ResidualBlock,
  type SkipKind,
} from './network';
export {
  type ResidualConvNetOptions,
  type ResidualMlpOptions,
  type ResidualOptions,
  residualConvNet,
  residualMlp,
} from './residual';
export {
  type PaperVggOptions,
  paperVgg,
  VGG_CONFIGS,
  VGG_MIN_INPUT_SIZE,
  type VggDepth,
  vggChannels,
} from './vgg';
export {
  decodeWeightsFile,
  encodeWeightsFile,
  WEIGHTS_FORMAT,
  WEIGHTS_FORMAT_VERSION,
  WeightsFileError,
} from './weights-file';
