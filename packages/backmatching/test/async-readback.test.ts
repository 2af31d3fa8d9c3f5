// The asynchronous readback (`applyAsync`, `await data()`: what WebGPU needs in Node) gives exactly the
// numbers of the synchronous one on the cpu backend, through every async entry point analyze uses.
import { hutchinsonTrace, hutchinsonTraceAsync, lanczos, lanczosAsync } from '@bmp/spectra';
import { randomArray, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  chainBlock,
  localHessianMatrix,
  localHessianMatrixAsync,
  localHessianOperator,
  operatorTrace,
  operatorTraceAsync,
  softmaxCrossEntropy,
  tfOperator,
} from '../src';

beforeAll(useCpuBackend);

describe('async readback of the tfjs operators', () => {
  it('localHessianOperator: applyAsync, localHessianMatrixAsync, lanczosAsync and operatorTraceAsync equal the sync forms bit for bit, without leaks', async () => {
    const [m, nIn, nOut] = [3, 5, 4];
    const w = tf.tidy(() => tf.variable(tf.tensor2d(randomArray(nIn * nOut, 1), [nIn, nOut])));
    const z = tf.tensor2d(randomArray(m * nIn, 2), [m, nIn]);
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 3, 1], 'int32'), nOut).toFloat());
    const block = chainBlock({
      weights: [w],
      ops: [{ op: 'dense', weight: 0 }, { op: 'batchNorm', epsilon: 1e-3 }, { op: 'relu' }],
      inputShape: [nIn],
    });
    const before = tf.memory().numTensors;
    for (const objective of [undefined, { top: (y: tf.Tensor) => softmaxCrossEntropy(labels, y) }]) {
      for (const wrt of ['z', 'W'] as const) {
        for (const form of ['exact', 'gauss-newton'] as const) {
          const spec = { block, z, wrt, form, objective };
          const op = localHessianOperator(spec);
          const v = Float64Array.from(randomArray(op.dim, 3));
          expect(await op.applyAsync(v)).toEqual(op.apply(v));
          expect(await localHessianMatrixAsync(spec)).toEqual(localHessianMatrix(spec));
          const o = { k: 2, which: 'both' as const, maxSteps: 8, seed: 1 };
          expect(await lanczosAsync(op, o)).toEqual(lanczos(op, o));
          for (const exactMaxDim of [0, 1000]) {
            const t = { exactMaxDim, probes: 3, seed: 4 };
            expect(await operatorTraceAsync(op, t)).toEqual(operatorTrace(op, t));
          }
        }
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, z, labels]);
  });

  it('tfOperator: applyAsync equals apply and still catches leaks', async () => {
    const n = 6;
    const a = tf.tensor1d(randomArray(n, 5));
    const op = tfOperator(n, (v) => tf.mul(a, v));
    const v = Float64Array.from(randomArray(n, 6));
    expect(await op.applyAsync(v)).toEqual(op.apply(v));
    expect(await hutchinsonTraceAsync(op, { probes: 4 })).toEqual(hutchinsonTrace(op, { probes: 4 }));
    const kept: tf.Tensor[] = [];
    const leaky = tfOperator(n, (x) => {
      kept.push(tf.keep(tf.mul(x, 2)));
      return x.clone();
    });
    await expect(leaky.applyAsync(v)).rejects.toThrow(/leaked/);
    tf.dispose([...kept, a]);
  });
});
