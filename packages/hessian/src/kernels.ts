// The typed contract of bmp's custom tfjs kernels (`@bmp/hessian/kernels`).
//
// @bmp/models and @bmp/optimizer run these kernels when the current backend has them (else they compute
// the same thing with tfjs ops); @bmp/backends registers them (on wasm, with @bmp/backends-native's C++
// kernels) together with their gradients. Name, inputs, attributes and outputs are declared once here, and
// every side goes through the typed helpers below: a caller or a registration with a wrong input, attribute
// or output count fails to typecheck.
//
// Why here: @bmp/hessian is the lowest layer, already a dependency of @bmp/optimizer and @bmp/models, and
// has no dependency but the tfjs-core peer, so every package may import it without changing the import
// rules (@bmp/optimizer depends on nothing but @bmp/hessian and tfjs-core; @bmp/backends stays the only
// package that registers kernels on a backend). A subpath keeps it out of the package's root API.
import * as tf from '@tensorflow/tfjs-core';

interface KernelSpec {
  readonly name: string;
  /** Inputs, in order (all required). */
  readonly inputs: readonly string[];
  /** Attribute name -> its type. */
  readonly attrs: Readonly<Record<string, 'number' | 'boolean'>>;
  /** Outputs, in order. */
  readonly outputs: readonly string[];
}

/**
 * The kernels. Every tensor is float32; "per-channel" tensors have shape `[C]`, C the last dimension of x,
 * and statistics are over all axes but the last (N values each), variance biased.
 */
export const BMP_KERNELS = {
  /**
   * Batch norm on batch statistics, no affine parameters:
   * `xhat = (x - mean) * rstd`, `rstd = 1 / sqrt(variance + epsilon)`.
   */
  batchNormTraining: {
    name: 'BmpBatchNormTraining',
    inputs: ['x'],
    attrs: { epsilon: 'number' },
    outputs: ['xhat', 'mean', 'variance', 'rstd'],
  },
  /**
   * The gradient of batchNormTraining with respect to x: `dx = rstd (dy - mean(dy) - xhat mean(dy xhat))`
   * plus, for the per-channel gradients of the statistics (zeros where they do not reach the loss),
   * `dMean / N + xhat (2 dVariance / (rstd N) - dRstd rstd^2 / N)`.
   */
  batchNormTrainingGrad: {
    name: 'BmpBatchNormTrainingGrad',
    inputs: ['dy', 'xhat', 'rstd', 'dMean', 'dVariance', 'dRstd'],
    attrs: {},
    outputs: ['dx'],
  },
  /** relu(batchNormTraining(x)): the bits of batchNormTraining followed by Relu. */
  batchNormReluTraining: {
    name: 'BmpBatchNormReluTraining',
    inputs: ['x'],
    attrs: { epsilon: 'number' },
    outputs: ['y', 'mean', 'variance', 'rstd'],
  },
  /**
   * The gradient of batchNormReluTraining: batchNormTrainingGrad of `dy * step(xhat)`, xhat recomputed from
   * x, mean and rstd as the forward pass computed it.
   */
  batchNormReluTrainingGrad: {
    name: 'BmpBatchNormReluTrainingGrad',
    inputs: ['dy', 'x', 'mean', 'rstd', 'dMean', 'dVariance', 'dRstd'],
    attrs: {},
    outputs: ['dx'],
  },
  /** Relu's gradient in one pass: `dx = dy * step(x)`, the bits of tfjs' `mul(dy, cast(step(x)))`. */
  reluGrad: {
    name: 'BmpReluGrad',
    inputs: ['dy', 'x'],
    attrs: {},
    outputs: ['dx'],
  },
  /**
   * SGD with momentum for one variable, each float32 operation rounded on its own (the bits of the
   * composed ops); wd, decay, rate and mu are scalars:
   * `g' = weightDecay ? gradient + wd variable : gradient`, `u' = decay u + g'`,
   * `s = nesterov ? g' + mu u' : u'`, outputs `[variable - rate s, u']`.
   */
  sgdMomentumStep: {
    name: 'BmpSgdMomentumStep',
    inputs: ['variable', 'gradient', 'u', 'wd', 'decay', 'rate', 'mu'],
    attrs: { weightDecay: 'boolean', nesterov: 'boolean' },
    outputs: ['variable', 'u'],
  },
} as const satisfies Record<string, KernelSpec>;

export type BmpKernels = typeof BMP_KERNELS;
/** A kernel's key in BMP_KERNELS (`'batchNormTraining'`, ...). */
export type BmpKernel = keyof BmpKernels;
/** Its registered name (`'BmpBatchNormTraining'`, ...). */
export type BmpKernelName<K extends BmpKernel> = BmpKernels[K]['name'];

/** The named inputs of kernel K, as tensors `T` (tf.Tensor to run it, tf.TensorInfo inside a kernel). */
export type KernelInputs<K extends BmpKernel, T = tf.Tensor> = {
  [N in BmpKernels[K]['inputs'][number]]: T;
};

/** The attributes of kernel K. */
export type KernelAttrs<K extends BmpKernel> = {
  -readonly [A in keyof BmpKernels[K]['attrs']]: BmpKernels[K]['attrs'][A] extends 'number'
    ? number
    : boolean;
};

/** The outputs of kernel K, in order, as a tuple of `T`. */
export type KernelOutputs<K extends BmpKernel, T = tf.Tensor> = EachOf<BmpKernels[K]['outputs'], T>;

/** A tuple of `T` as long as `O` (a mapped type over a type parameter keeps tuples). */
type EachOf<O extends readonly unknown[], T> = { -readonly [I in keyof O]: T };

/** Whether `backendName` (default: the current backend) has kernel K registered. */
export function hasKernel(kernel: BmpKernel, backendName: string = tf.getBackend()): boolean {
  return tf.getKernel(BMP_KERNELS[kernel].name, backendName) != null;
}

/** Runs kernel K on the current backend (which must have it: see hasKernel); outputs always as a tuple. */
export function runKernel<K extends BmpKernel>(
  kernel: K,
  inputs: KernelInputs<K>,
  attrs: KernelAttrs<K>,
): KernelOutputs<K> {
  const out = tf
    .engine()
    .runKernel(
      BMP_KERNELS[kernel].name,
      inputs as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    );
  return (Array.isArray(out) ? out : [out]) as unknown as KernelOutputs<K>;
}

/** What a kernel function of K receives. */
export interface KernelArgs<K extends BmpKernel> {
  inputs: KernelInputs<K, tf.TensorInfo>;
  attrs: KernelAttrs<K>;
  backend: tf.KernelBackend;
}

/** Registers `kernelFunc` as kernel K on `backendName`; it returns the outputs in order. */
export function registerKernel<K extends BmpKernel>(
  kernel: K,
  backendName: string,
  kernelFunc: NoInfer<(args: KernelArgs<K>) => KernelOutputs<K, tf.TensorInfo>>,
): void {
  tf.registerKernel({
    kernelName: BMP_KERNELS[kernel].name,
    backendName,
    kernelFunc: (args) => {
      const outs = kernelFunc(args as unknown as KernelArgs<K>) as unknown as tf.TensorInfo[];
      return outs.length === 1 ? outs[0]! : outs;
    },
  });
}

/** The gradient of kernel K: for each input, a function computing its gradient (differentiable ops). */
export interface KernelGradient<K extends BmpKernel> {
  /** Inputs kept for gradFunc, in this order (before the saved outputs). */
  inputsToSave?: readonly BmpKernels[K]['inputs'][number][];
  /** For each output, whether to keep it for gradFunc (after the saved inputs). */
  outputsToSave?: EachOf<BmpKernels[K]['outputs'], boolean>;
  /** `dys`: one gradient per output (zeros where an output does not reach the loss). */
  gradFunc: (
    dys: KernelOutputs<K>,
    saved: tf.Tensor[],
    attrs: KernelAttrs<K>,
  ) => Partial<Record<BmpKernels[K]['inputs'][number], () => tf.Tensor>>;
}

/** Registers the gradient of kernel K (process-wide, for every backend). */
export function registerGradient<K extends BmpKernel>(kernel: K, gradient: NoInfer<KernelGradient<K>>): void {
  tf.registerGradient({
    kernelName: BMP_KERNELS[kernel].name,
    inputsToSave: gradient.inputsToSave as string[] | undefined,
    outputsToSave: gradient.outputsToSave as unknown as boolean[] | undefined,
    gradFunc: (dy, saved, attrs) =>
      gradient.gradFunc(
        (Array.isArray(dy) ? dy : [dy]) as unknown as KernelOutputs<K>,
        saved,
        attrs as unknown as KernelAttrs<K>,
      ) as Record<string, () => tf.Tensor>,
  });
}
