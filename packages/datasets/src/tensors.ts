import { cast, oneHot, type Tensor, type Tensor4D, tensor1d, tensor4d, tidy } from '@tensorflow/tfjs-core';
import type { Batch } from './batcher.js';

export interface BatchTensors {
  /** `[size, height, width, channels]` float32. */
  xs: Tensor4D;
  /** `[size]` int32 labels, or `[size, numClasses]` float32 one-hot rows. */
  ys: Tensor;
}

/**
 * Makes one image tensor and one label tensor for a whole batch (never one tensor per image). The data
 * is copied, so the tensors stay valid after the batcher reuses its buffers. The caller disposes them.
 */
export function batchToTensors(batch: Batch, options: { oneHot?: number } = {}): BatchTensors {
  const xs = tensor4d(batch.x.slice(), batch.shape, 'float32');
  const depth = options.oneHot;
  if (depth === undefined) return { xs, ys: tensor1d(batch.y.slice(), 'int32') };
  const ys = tidy(() => cast(oneHot(tensor1d(batch.y.slice(), 'int32'), depth), 'float32'));
  return { xs, ys };
}
