import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelFunc;
type TensorInfo = tf.TensorInfo;

/** `backendName`'s registered kernel function `kernelName`; throws a clear error if there is none. */
export function backendKernel(kernelName: string, backendName: string, user: string): KernelFunc {
  const config = tf.getKernel(kernelName, backendName);
  if (config == null) {
    throw new Error(
      `${user} needs the ${backendName} backend's ${kernelName} kernel, which is not registered ` +
        `(is @tensorflow/tfjs-backend-${backendName} imported?)`,
    );
  }
  return config.kernelFunc;
}

/**
 * Intermediate results of a kernel built from other kernels: `keep(t)` records `t`, and every recorded
 * tensor is released when `fn` returns or throws (the result must not be recorded).
 */
export function withTemps<T>(backend: tf.KernelBackend, fn: (keep: (t: TensorInfo) => TensorInfo) => T): T {
  const temps: TensorInfo[] = [];
  try {
    return fn((t) => {
      temps.push(t);
      return t;
    });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** True for the channels-last layouts (`NHWC`, the default). */
export function isChannelsLast(dataFormat: unknown): boolean {
  return dataFormat == null || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

/** The kernel as `run(inputs, attrs)`, with `backend` bound. */
export function runner(fn: KernelFunc, backend: tf.KernelBackend) {
  return (inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo =>
    fn({ inputs, backend, attrs }) as TensorInfo;
}

export type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW' | 'channelsLast' | 'channelsFirst';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};
