/**
 * @bmp/backends/internals: switches and building blocks for benchmarks, tests and debugging, outside the
 * main entry. They may change in any release.
 */
export { type KernelMode, setTrainingKernelMode, trainingKernelModes } from './training-kernels';
export { conv2DBackpropFilterViaConv2D } from './wasm/conv2d-backprop-filter';
export { conv2DBackpropInputViaConv2D } from './wasm/conv2d-backprop-input';
export { loadNative } from './wasm/native-load';
