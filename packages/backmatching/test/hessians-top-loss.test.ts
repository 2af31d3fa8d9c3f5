import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, expect, it } from 'vitest';
import { hvp } from '../src/backmatching/autodiff';
import { softmaxCrossEntropy } from '../src/backmatching/ops';

beforeAll(useCpuBackend);

it('top loss: grad of grad of the softmax cross-entropy is (diag(p) - p p^T) / m (tfjs issue 3252 workaround)', () => {
  const logits = tf.tensor([
    [0.3, -0.2, 0.5],
    [1.5, 0.1, -2],
  ]);
  const labels = tf.tensor([
    [1, 0, 0],
    [0, 0, 1],
  ]);
  const m = 2;
  expect(softmaxCrossEntropy(labels, logits).dataSync()[0]).toBeCloseTo(
    tf.losses.softmaxCrossEntropy(labels, logits).dataSync()[0],
    6,
  );
  const p = tf.softmax(logits).arraySync() as number[][];
  for (let s = 0; s < m; s++) {
    for (let k = 0; k < 3; k++) {
      const e = tf.buffer([m, 3]);
      e.set(1, s, k);
      const row = hvp(
        (ys) => softmaxCrossEntropy(labels, ys[0]),
        [logits],
        [e.toTensor()],
      )[0].arraySync() as number[][];
      for (let t = 0; t < m; t++) {
        for (let j = 0; j < 3; j++) {
          const expected = t === s ? ((k === j ? p[s][k] : 0) - p[s][k] * p[s][j]) / m : 0;
          expect(Math.abs(row[t][j] - expected)).toBeLessThan(1e-6);
        }
      }
    }
  }
});
