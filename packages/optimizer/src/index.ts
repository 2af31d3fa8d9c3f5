import './register';

export type { Block, Conv2DBlock, DenseBlock } from '@bmp/hessian';
export { BlockwiseSGD } from './blockwise-sgd';
export { blocksFromLayersModel } from './layers-model-blocks';
export { MomentumSGD } from './momentum-sgd';
export { MOMENTUM_STEP_KERNEL } from './momentum-step-kernel';
export type { NamedBlock, SGDOptions } from './options';
export { type BlockScale, ScaleAmendedSGD } from './scale-amended-sgd';
export * from './schedules';
