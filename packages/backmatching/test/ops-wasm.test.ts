// The chain's ops on tfjs-backend-wasm against tfjs's own kernels computed on the cpu backend.
// Found by `bmp-train analyze`: wasm ignores oneHot's dtype argument, which zeroed maxPool2x2.
import '@tensorflow/tfjs-backend-wasm';
import { maxRelativeError, tf, useCpuBackend } from '@bmp/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, conv2d, maxPool2x2 } from '../src/backmatching/ops';

/** Runs fn on `backend` and returns its output's values. */
async function on(backend: string, fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const out = tf.tidy(fn);
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

describe('chain ops on the wasm backend (reference: tfjs kernels on cpu)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  });
  afterAll(useCpuBackend);

  it('maxPool2x2 matches tf.maxPool, including windows with ties and odd sizes', async () => {
    for (const shape of [
      [2, 4, 4, 3],
      [1, 5, 7, 2],
    ] as [number, number, number, number][]) {
      // Small integers: many windows hold the maximum twice.
      const x = () => tf.round(tf.randomUniform(shape, -2, 2, 'float32', 7)) as tf.Tensor4D;
      const ours = await on('wasm', () => maxPool2x2(x()));
      const ref = await on('cpu', () => tf.maxPool(x(), 2, 2, 'valid'));
      expect(ours.length).toBe(ref.length);
      // A selection, not arithmetic: exact.
      expect(maxRelativeError(ours, ref)).toBe(0);
    }
  });

  // Float32 sums in another order: relative error <= 1e-4 (floor 1e-3 for values near 0).
  it('conv2d (im2col) and batchNorm match tf.conv2d and tf.moments', async () => {
    const x = () => tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = () => tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
    for (const padding of ['same', 'valid'] as const) {
      const ours = await on('wasm', () => conv2d(x(), w(), 1, padding));
      const ref = await on('cpu', () => tf.conv2d(x(), w(), 1, padding));
      expect(maxRelativeError(ours, ref, 1e-3)).toBeLessThanOrEqual(1e-4);
    }
    const bnOurs = await on('wasm', () => batchNorm(x(), 1e-5));
    const bnRef = await on('cpu', () => {
      const { mean, variance } = tf.moments(x(), [0, 1, 2]);
      return tf.div(tf.sub(x(), mean), tf.sqrt(tf.add(variance, 1e-5)));
    });
    expect(maxRelativeError(bnOurs, bnRef, 1e-3)).toBeLessThanOrEqual(1e-4);
  });
});
