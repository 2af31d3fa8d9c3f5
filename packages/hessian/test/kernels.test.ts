// @bmp/hessian/kernels: the typed contract of bmp's custom kernels. A toy BmpReluGrad on cpu (registered
// and run through the typed helpers, with a gradient), and registrations or calls with the wrong inputs,
// attributes or outputs rejected by the compiler (@ts-expect-error: typecheck fails if they are accepted).
import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BMP_KERNELS,
  hasKernel,
  type KernelArgs,
  registerGradient,
  registerKernel,
  runKernel,
} from '../src/kernels';

beforeAll(useCpuBackend);

describe('@bmp/hessian/kernels', () => {
  it('declares every kernel once, with distinct names', () => {
    const names = Object.values(BMP_KERNELS).map((k) => k.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => /^Bmp[A-Z]\w+$/.test(n))).toBe(true);
    expect(BMP_KERNELS.sgdMomentumStep.inputs).toEqual([
      'variable',
      'gradient',
      'u',
      'wd',
      'decay',
      'rate',
      'mu',
    ]);
    expect(BMP_KERNELS.batchNormTraining.outputs).toEqual(['xhat', 'mean', 'variance', 'rstd']);
  });

  it('registers, runs and differentiates a kernel through the typed helpers', () => {
    expect(hasKernel('reluGrad')).toBe(false);
    registerKernel('reluGrad', 'cpu', ({ inputs, backend }: KernelArgs<'reluGrad'>) => {
      const read = (t: tf.TensorInfo) => backend.readSync(t.dataId) as Float32Array;
      const [dy, x] = [read(inputs.dy), read(inputs.x)];
      const out = tf.tensor(
        dy.map((v, i) => (x[i]! > 0 ? v : 0)),
        inputs.x.shape,
      );
      return [tf.keep(out)];
    });
    registerGradient('reluGrad', {
      inputsToSave: ['x'],
      gradFunc: ([g], saved) => ({
        dy: () => tf.mul(g, tf.step(saved[0]!)),
        x: () => tf.zerosLike(saved[0]!),
      }),
    });
    expect(hasKernel('reluGrad')).toBe(true);
    expect(hasKernel('reluGrad', 'wasm')).toBe(false);
    const x = tf.tensor1d([-1, 2, 0, 3]);
    const dy = tf.tensor1d([5, 6, 7, 8]);
    const [dx] = runKernel('reluGrad', { dy, x }, {});
    expect(Array.from(dx.dataSync())).toEqual([0, 6, 0, 8]);
    const grad = tf.grad((d: tf.Tensor) => tf.sum(runKernel('reluGrad', { dy: d, x }, {})[0]))(dy);
    expect(Array.from(grad.dataSync())).toEqual([0, 1, 0, 1]);
    tf.unregisterKernel(BMP_KERNELS.reluGrad.name, 'cpu');
    tf.dispose([x, dy, dx, grad]);
  });

  it('rejects wrong inputs, attributes and outputs at compile time', () => {
    const wrong = () => {
      const t = tf.scalar(1);
      // @ts-expect-error: BmpReluGrad has no input 'y'
      runKernel('reluGrad', { dy: t, y: t }, {});
      // @ts-expect-error: BmpBatchNormTraining's epsilon is a number
      runKernel('batchNormTraining', { x: t }, { epsilon: true });
      // @ts-expect-error: BmpSgdMomentumStep has two outputs
      const [, , third] = runKernel(
        'sgdMomentumStep',
        { variable: t, gradient: t, u: t, wd: t, decay: t, rate: t, mu: t },
        { weightDecay: false, nesterov: false },
      );
      // @ts-expect-error: a kernel function of BmpReluGrad reads inputs.xhat, which it does not have
      registerKernel('reluGrad', 'cpu', (args: KernelArgs<'batchNormTrainingGrad'>) => [args.inputs.xhat]);
      // @ts-expect-error: BmpBatchNormTraining returns four outputs
      registerKernel('batchNormTraining', 'cpu', ({ inputs }) => [inputs.x]);
      return third;
    };
    expect(typeof wrong).toBe('function');
  });
});
