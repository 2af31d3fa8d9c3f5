// The optional cpu Conv2DBackpropFilter (Conv2D-based) against the cpu backend's stock kernel:
// max |ours - stock| / max |stock| <= 1e-4.
import { tf } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src';
import { setTrainingKernelMode } from '../src/internals';
import { caseData, filterGrad, label, randomCases, scaledError } from './helpers';

const TOLERANCE = 1e-4;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  const result = await initBackend({ prefer: 'cpu' });
  expect(result.trainingKernels).toEqual(['cpu:Conv2DBackpropFilter']);
});

function both(fn: () => Float32Array | Uint8Array | Int32Array) {
  setTrainingKernelMode('cpu:Conv2DBackpropFilter', 'stock');
  const stock = tf.tidy(fn);
  setTrainingKernelMode('cpu:Conv2DBackpropFilter', 'fast');
  return { stock, fast: tf.tidy(fn) };
}

describe('cpu Conv2DBackpropFilter (Conv2D-based, optional)', () => {
  it.each(randomCases(30, 21).map((c, i) => [label(c), c, i] as const))('%s', (_, c, i) => {
    const d = caseData(c, 40 + 3 * i);
    const before = tf.memory().numTensors;
    const { stock, fast } = both(() =>
      filterGrad(tf.tensor(d.x, c.x), tf.tensor(d.dy, d.dyShape), c).dataSync(),
    );
    expect(scaledError(fast, stock)).toBeLessThanOrEqual(TOLERANCE);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('NCHW still goes to the stock kernel', () => {
    const run = () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.ones([1, 2, 5, 5]), dy: tf.ones([1, 3, 5, 5]) }, {
        strides: [1, 1],
        pad: 'same',
        dataFormat: 'NCHW',
        filterShape: [3, 3, 2, 3],
      } as never);
    // The stock cpu kernel's NCHW path; the point is that ours does not reject it.
    const out = tf.tidy(() => (run() as tf.Tensor).shape);
    expect(out).toEqual([3, 3, 2, 3]);
  });
});
