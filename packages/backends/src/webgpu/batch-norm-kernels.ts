// The batch-norm kernels of @bmp/hessian/kernels (BMP_KERNELS.batchNormTraining, ...Grad, and the ReLU
// versions) on tfjs-backend-webgpu, built from the WGSL programs of ./batch-norm-programs.ts:
//
//   BmpBatchNormTraining / BmpBatchNormReluTraining ({ x }, { epsilon }): mean (a per-channel reduction),
//     variance around it (a second reduction), rstd, then xhat or relu(xhat) elementwise: 4 launches.
//   BmpBatchNormTrainingGrad / BmpBatchNormReluTrainingGrad: the per-channel means of g and g * xhat with the
//     statistics gradients' coefficients (one reduction), then dx elementwise: 2 launches.
//
// Statistics over all axes but the last (NHWC), variance biased, float32. The gradients registered for
// these kernels are the wasm kernels' (../gradients/batch-norm-gradient.ts), backend-independent.
import type { KernelArgs } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';
import {
  BatchNormGradProgram,
  ChannelReduceProgram,
  NormalizeProgram,
  RstdProgram,
  reduceUniforms,
  type WebGpuBackendLike,
  webgpuBackendOf,
} from './batch-norm-programs';

const KERNEL = 'BmpBatchNormTraining (@bmp/backends, webgpu)';

function requireWebgpu(backend: unknown): WebGpuBackendLike {
  const b = webgpuBackendOf(backend);
  if (b == null) throw new Error(`${KERNEL}: runs on tfjs-backend-webgpu's backend only`);
  return b;
}

function checkFloat(name: string, t: tf.TensorInfo): void {
  if (t.dtype !== 'float32' || t.shape.length === 0 || tf.util.sizeFromShape(t.shape) === 0) {
    throw new Error(
      `${KERNEL}: ${name} must be a non-empty float32 tensor of rank >= 1, got ${t.dtype} [${t.shape}]`,
    );
  }
}

/** [rows, channels] of an NHWC tensor: channels its last dimension, rows the product of the others. */
function rowsAndChannels(t: tf.TensorInfo): [number, number] {
  const channels = t.shape[t.shape.length - 1]!;
  return [tf.util.sizeFromShape(t.shape) / channels, channels];
}

/** The same data seen as `[rows, channels]` (no copy: runWebGPUProgram binds the buffer of `dataId`). */
function asMatrix(t: tf.TensorInfo, rows: number, channels: number): tf.TensorInfo {
  return { dataId: t.dataId, shape: [rows, channels], dtype: t.dtype };
}

/** BmpBatchNormTraining; `relu`: BmpBatchNormReluTraining (first output relu(xhat)). */
export function webgpuBatchNormTraining(relu: boolean) {
  return (
    args: KernelArgs<'batchNormTraining'>,
  ): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] => {
    const { x } = args.inputs;
    const { epsilon } = args.attrs;
    checkFloat('x', x);
    const backend = requireWebgpu(args.backend);
    const [rows, channels] = rowsAndChannels(x);
    const dims = reduceUniforms(rows, channels);
    const matrix = asMatrix(x, rows, channels);
    const mean = backend.runWebGPUProgram(
      new ChannelReduceProgram('mean', channels),
      [matrix],
      'float32',
      dims,
    );
    const variance = backend.runWebGPUProgram(
      new ChannelReduceProgram('variance', channels),
      [matrix, mean],
      'float32',
      dims,
    );
    const rstd = backend.runWebGPUProgram(new RstdProgram(channels), [variance], 'float32', [
      { type: 'float32', data: [epsilon] },
    ]);
    const out = backend.runWebGPUProgram(
      new NormalizeProgram([...x.shape], relu),
      [x, mean, rstd],
      'float32',
      [{ type: 'int32', data: [channels] }],
    );
    return [out, mean, variance, rstd];
  };
}

/** BmpBatchNormTrainingGrad. */
export function webgpuBatchNormTrainingGrad(args: KernelArgs<'batchNormTrainingGrad'>): [tf.TensorInfo] {
  const { dy, xhat, rstd, dMean, dVariance, dRstd } = args.inputs;
  checkFloat('dy', dy);
  const backend = requireWebgpu(args.backend);
  const [rows, channels] = rowsAndChannels(dy);
  const coef = backend.runWebGPUProgram(
    new ChannelReduceProgram('gradSums', channels),
    [asMatrix(dy, rows, channels), asMatrix(xhat, rows, channels), rstd, dMean, dVariance, dRstd],
    'float32',
    reduceUniforms(rows, channels),
  );
  const dx = backend.runWebGPUProgram(
    new BatchNormGradProgram([...dy.shape], false),
    [dy, xhat, rstd, coef],
    'float32',
    [{ type: 'int32', data: [channels] }],
  );
  backend.disposeData(coef.dataId);
  return [dx];
}

/** BmpBatchNormReluTrainingGrad: dy is the gradient of relu(xhat); xhat is recomputed from x, mean and rstd. */
export function webgpuBatchNormReluTrainingGrad(
  args: KernelArgs<'batchNormReluTrainingGrad'>,
): [tf.TensorInfo] {
  const { dy, x, mean, rstd, dMean, dVariance, dRstd } = args.inputs;
  checkFloat('dy', dy);
  const backend = requireWebgpu(args.backend);
  const [rows, channels] = rowsAndChannels(dy);
  const coef = backend.runWebGPUProgram(
    new ChannelReduceProgram('gradSumsRelu', channels),
    [asMatrix(dy, rows, channels), asMatrix(x, rows, channels), mean, rstd, dMean, dVariance, dRstd],
    'float32',
    reduceUniforms(rows, channels),
  );
  const dx = backend.runWebGPUProgram(
    new BatchNormGradProgram([...dy.shape], true),
    [dy, x, mean, rstd, coef],
    'float32',
    [{ type: 'int32', data: [channels] }],
  );
  backend.disposeData(coef.dataId);
  return [dx];
}
