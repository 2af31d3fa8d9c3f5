// @bmp/optimizer's optional one-pass momentum update (kernel 'BmpSgdMomentumStep', BMP_KERNELS.sgdMomentumStep
// of @bmp/hessian/kernels) for the wasm backend, computed by @bmp/backends-native on the wasm heap: each
// float32 operation rounded on its own, so the optimizer's results are the bits of its composed ops.
//   inputs: variable, gradient, u (float32, one shape), scalars wd, decay, rate, mu
//   attrs: weightDecay, nesterov;  outputs: [new variable, new u]
import type { NativeKernels } from '@bmp/backends-native';
import { BMP_KERNELS, type KernelArgs } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { requireHeap } from './heap';
import type { NativeThreads } from './native-conv';

/** The kernel name @bmp/optimizer looks for (its MOMENTUM_STEP_KERNEL). */
export const MOMENTUM_STEP = BMP_KERNELS.sgdMomentumStep.name;

export function nativeMomentumStep(native: NativeKernels, holder: NativeThreads) {
  return (args: KernelArgs<'sgdMomentumStep'>): [tf.TensorInfo, tf.TensorInfo] => {
    const inputs = args.inputs;
    const { weightDecay, nesterov } = args.attrs;
    const backend = requireHeap(args.backend, MOMENTUM_STEP);
    const { variable, gradient, u } = inputs;
    for (const [name, t] of Object.entries(inputs)) {
      const scalar = name === 'wd' || name === 'decay' || name === 'rate' || name === 'mu';
      const ok =
        t != null &&
        t.dtype === 'float32' &&
        (scalar ? tf.util.sizeFromShape(t.shape) === 1 : tf.util.arraysEqual(t.shape, variable.shape));
      if (!ok) {
        throw new Error(
          `${MOMENTUM_STEP} (@bmp/backends): ${name} must be ${scalar ? 'a float32 scalar' : `float32 [${variable.shape}]`}, got ${t == null ? 'nothing' : `${t.dtype} [${t.shape}]`}`,
        );
      }
    }
    const value = backend.makeOutput([...variable.shape], 'float32');
    const next = backend.makeOutput([...variable.shape], 'float32');
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const scalars = Float32Array.of(
      view(inputs.wd)[0]!,
      view(inputs.decay)[0]!,
      view(inputs.rate)[0]!,
      view(inputs.mu)[0]!,
    );
    native.momentumStep(
      view(variable),
      view(gradient),
      view(u),
      view(value),
      view(next),
      scalars,
      weightDecay === true,
      nesterov === true,
      holder.threads,
    );
    return [value, next];
  };
}
