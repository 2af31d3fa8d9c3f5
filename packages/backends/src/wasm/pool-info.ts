// The geometry of a 2-D pooling (MaxPool / MaxPoolGrad attributes) as tfjs-core computes it, and packed
// for @bmp/backends-native's pooling kernels.
import * as tf from '@tensorflow/tfjs-core';

export type PoolAttrs = {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

export function poolInfo(inputShape: number[], attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  return tf.backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
}

/** n, h, w, c, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft. */
export function packPoolGeometry(info: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}
