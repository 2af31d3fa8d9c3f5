export {
  AUTO_ORDER,
  BACKEND_PACKAGES,
  type BackendLoader,
  type BackendName,
  type BackendPreference,
  defaultLoader,
  detectEnvironment,
  type Environment,
  installHint,
  TFJS_BACKEND_NAMES,
} from './backend-names';
export {
  type ComputeDevice,
  type InitBackendOptions,
  type InitBackendResult,
  initBackend,
} from './init-backend';
export {
  nativeKernelThreads,
  registerCpuTrainingKernels,
  registerNativeKernels,
  registerWasmTrainingKernels,
  registerWebgpuTrainingKernels,
  type TrainingKernel,
} from './training-kernels';
export { type BackendAttempt, BackendUnavailableError } from './try-backend';
export { CONV2D_BACKPROP_FILTER } from './wasm/conv2d-backprop-filter';
export { CONV2D_BACKPROP_INPUT } from './wasm/conv2d-backprop-input';
export {
  BATCH_NORM_RELU_TRAINING,
  BATCH_NORM_RELU_TRAINING_GRAD,
  BATCH_NORM_TRAINING,
  BATCH_NORM_TRAINING_GRAD,
} from './wasm/native-batch-norm';
export {
  NATIVE_PACKAGE,
  type NativeKernelSet,
  type NativeLoader,
  type NativeLoadResultLike,
} from './wasm/native-load';
export { MOMENTUM_STEP } from './wasm/native-momentum-step';
export { RELU_GRAD } from './wasm/native-relu';
export { nodeCoreCount, WASM_MAX_THREADS } from './wasm/node-threads';
export type { NativeInfo } from './wasm/try-wasm';
export { describeAdapter, type GpuAdapterInfo, readAdapterInfo } from './webgpu/adapter';
export {
  DAWN_PACKAGE,
  type DawnLoader,
  type DawnModule,
  defaultDawnLoader,
  nodeWebgpuAdapter,
  WEBGPU_INTERFACE_GLOBALS,
} from './webgpu/node-webgpu';
