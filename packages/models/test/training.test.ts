import { ScaleAmendedSGD } from '@bmp/optimizer';
import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlp, type Network, paperVgg, residualConvNet, residualMlp } from '../src';

beforeAll(useCpuBackend);

function loss(model: Network, x: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  // Cross-entropy from plain ops: tfjs' customGrad-based losses trip its IS_TEST kernel leak check.
  const logits = model.apply(x, { training: true });
  const logProbs = tf.sub(logits, tf.logSumExp(logits, 1, true));
  return tf.neg(tf.mean(tf.sum(tf.mul(labels, logProbs), 1))) as tf.Scalar;
}

function batch(shape: number[], classes: number, seed: number) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: shape[0] }, (_, i) => i % classes),
      'int32',
    ),
    classes,
  );
  return { x, labels };
}

const models: Array<[string, () => Network, number[], number]> = [
  [
    'paper VGG11 (28x28x1)',
    () => paperVgg({ depth: 11, numClasses: 4, widthMultiplier: 0.0625, inputShape: [28, 28, 1] }),
    [3, 28, 28, 1],
    4,
  ],
  ['mlp with BN', () => mlp({ sizes: [6, 5, 5, 3], batchNorm: true, seed: 1 }), [4, 6], 3],
  [
    'residual MLP (non-orthogonal)',
    () => residualMlp({ inputSize: 6, width: 5, depth: 2, numClasses: 3, skip: 'non-orthogonal' }),
    [4, 6],
    3,
  ],
  [
    'residual conv net (orthogonal)',
    () =>
      residualConvNet({ inputShape: [6, 6, 2], channels: 3, depth: 2, numClasses: 3, skip: 'orthogonal' }),
    [2, 6, 6, 2],
    3,
  ],
];

describe('training', () => {
  it.each(models)(
    '%s: every trainable variable gets a finite, non-zero gradient',
    (_, make, shape, classes) => {
      const model = make();
      const { x, labels } = batch(shape, classes, 5);
      const { value, grads } = tf.variableGrads(() => loss(model, x, labels), [...model.trainableVariables]);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      for (const v of model.trainableVariables) {
        const g = grads[v.name];
        expect(g, v.name).toBeDefined();
        const data = g.dataSync();
        expect(data.every(Number.isFinite), `${v.name} finite`).toBe(true);
        expect(
          data.some((d) => d !== 0),
          `${v.name} non-zero`,
        ).toBe(true);
      }
      // non-trainable variables (running statistics, fixed skips) get none
      for (const v of model.variables.filter((w) => !w.trainable)) expect(grads[v.name]).toBeUndefined();
      tf.dispose([x, labels, value, ...Object.values(grads)]);
      model.dispose();
    },
  );

  it('ScaleAmendedSGD.minimize trains paper VGG13 and keeps tf.memory().numTensors flat', () => {
    const model = paperVgg({ depth: 13, numClasses: 4, widthMultiplier: 0.0625, seed: 3 });
    const opt = new ScaleAmendedSGD({
      learningRate: 0.05,
      momentum: 0.9,
      weightDecay: 5e-3,
      blocks: model.blocks,
    });
    const { x, labels } = batch([4, 32, 32, 3], 4, 9);
    const step = () => {
      const cost = opt.minimize(() => loss(model, x, labels), true)!;
      const v = cost.dataSync()[0];
      cost.dispose();
      return v;
    };
    const rm = model.namedVariables().get('bn1/running_mean')!;
    const first = step(); // creates the momentum slots
    const rmAfterFirst = Array.from(rm.dataSync());
    expect(rmAfterFirst.some((v) => v !== 0)).toBe(true); // running statistics were updated
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    let last = 0;
    for (let i = 0; i < 3; i++) last = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(first); // it learns the fixed batch
    expect(opt.lastScales().map((s) => s.name)).toEqual(model.blocks.map((b) => b.weight.name));
    tf.dispose([x, labels]);
    opt.dispose();
    model.dispose();
  });
});
