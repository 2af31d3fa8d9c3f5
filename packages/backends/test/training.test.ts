// A paper VGG from @bmp/models trains on wasm with the registered kernels: the loss falls over a few
// MomentumSGD steps on a fixed batch, and no tensor leaks per step.
import { paperVgg } from '@bmp/models';
import { MomentumSGD } from '@bmp/optimizer';
import { expectNoLeak, tf } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  // native: false: wasm's own kernels and ours built from them (native-kernels.test.ts trains with the C++ ones).
  const r = await initBackend({ prefer: 'wasm', native: false });
  expect(r.backend).toBe('wasm');
});

describe('training on wasm', () => {
  it('paper VGG11 (width 0.125, 32x32x3, batch 16): loss falls over 8 MomentumSGD steps', async () => {
    const model = paperVgg({
      depth: 11,
      numClasses: 4,
      widthMultiplier: 0.125,
      inputShape: [32, 32, 3],
      seed: 3,
    });
    const opt = new MomentumSGD({ learningRate: 0.05, momentum: 0.9, blocks: model.blocks });
    const x = tf.randomNormal([16, 32, 32, 3], 0, 1, 'float32', 5);
    const labels = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 4),
        'int32',
      ),
      4,
    );
    const loss = () => {
      const logits = model.apply(x, { training: true });
      const logProbs = tf.sub(logits, tf.logSumExp(logits, 1, true));
      return tf.neg(tf.mean(tf.sum(tf.mul(labels, logProbs), 1))) as tf.Scalar;
    };
    const losses: number[] = [];
    const step = () => {
      const { value, grads } = tf.variableGrads(loss, [...model.trainableVariables]);
      opt.applyGradients(grads);
      losses.push(value.dataSync()[0]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // creates the momentum slots
    for (let i = 0; i < 7; i++) await expectNoLeak(step, `step ${i + 2}`);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    for (let i = 3; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[0]);
    opt.dispose();
    model.dispose();
    tf.dispose([x, labels]);
  });
});
