import { mlp, paperVgg, residualConvNet, residualMlp } from '@bmp/models';
import { expectNoLeak, tf, useCpuBackend } from '@bmp/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockChain, type NetworkLike } from '../src/backmatching/network-chain';
import { softmaxCrossEntropy } from '../src/backmatching/ops';
import { backMatchingPropagation } from '../src/backmatching/procedure';

beforeAll(useCpuBackend);

type Net = NetworkLike & {
  apply(x: tf.Tensor, o: { training: boolean; updateStatistics: boolean }): tf.Tensor;
  trainableVariables: readonly tf.Variable[];
  dispose(): void;
};

const nets: Net[] = [];
afterAll(() => {
  for (const n of nets) n.dispose();
});

/**
 * Proposition 1: with one gradient step of size mu on W and of size 1 (per-sample units, i.e. m on the
 * batch-mean back-matching loss) on z, Procedure 1 gives W - mu dJ/dW, J the batch-mean training loss.
 * The BP side uses the model's own forward pass (tf.conv2d, tf.maxPool, tf.matMul) and tf.grads.
 * Tolerance: max |dW_bmp - dW_bp| <= 1e-4 * max |dW_bp| per block (float32; measured worst 1.9e-5).
 */
const TOL = 1e-4;

function check(net: Net, x: tf.Tensor, numClasses: number, mu: number) {
  const m = x.shape[0];
  const labels = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: m }, (_, i) => i % numClasses),
        'int32',
      ),
      numClasses,
    ),
  );
  const top = (out: tf.Tensor) => softmaxCrossEntropy(labels, out);
  const chain = blockChain(net);
  const vars = net.trainableVariables;
  const bp = tf.tidy(() =>
    tf.grads((...ws: tf.Tensor[]) => {
      // substitute the weights through assign-free closure: the model reads its variables, so differentiate
      // with respect to the variables themselves
      void ws;
      return top(net.apply(x, { training: true, updateStatistics: false }));
    })([...vars]),
  );
  const before = tf.memory().numTensors;
  const result = backMatchingPropagation(chain, x, { top, wStep: { kind: 'gradient', step: mu } });
  const byName = new Map<string, tf.Tensor>();
  chain.blocks.forEach((block, b) => {
    block.weights.forEach((v, i) => {
      byName.set(v.name, result.weights[b][i]);
    });
  });
  let worst = 0;
  for (const [i, v] of vars.entries()) {
    const got = byName.get(v.name);
    expect(got, v.name).toBeDefined();
    const [err, scale] = tf.tidy(() => {
      const dBmp = tf.sub(got!, v);
      const dBp = tf.mul(bp[i], -mu);
      return [tf.max(tf.abs(tf.sub(dBmp, dBp))).dataSync()[0], tf.max(tf.abs(dBp)).dataSync()[0]];
    });
    expect(scale, v.name).toBeGreaterThan(0);
    worst = Math.max(worst, err / scale);
    expect(err, v.name).toBeLessThanOrEqual(TOL * scale);
  }
  expect(result.reports.map((r) => r.index)).toEqual(chain.blocks.map((_, b) => chain.blocks.length - 1 - b));
  result.dispose();
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([...bp, labels]);
  return worst;
}

describe('Proposition 1: one-step back-matching propagation = one gradient step', () => {
  it('MLP without and with BN', async () => {
    for (const batchNorm of [false, true]) {
      const net = mlp({ sizes: [6, 5, 4, 3], batchNorm, seed: 3 }) as unknown as Net;
      nets.push(net);
      const x = tf.randomNormal([8, 6], 0, 1, 'float32', 1);
      const worst = await expectNoLeak(() => check(net, x, 3, 0.1));
      console.log(`mlp batchNorm=${batchNorm}: worst relative error ${worst.toExponential(2)}`);
      x.dispose();
    }
  });

  it('conv nets: paper VGG (BN, max-pool) and a residual conv net without BN', async () => {
    const vgg = paperVgg({
      depth: 11,
      numClasses: 3,
      widthMultiplier: 1 / 32,
      inputShape: [28, 28, 1],
      seed: 2,
    }) as unknown as Net;
    const res = residualConvNet({
      inputShape: [6, 6, 2],
      channels: 3,
      depth: 1,
      numClasses: 3,
      skip: 'identity',
      batchNorm: false,
      seed: 4,
    }) as unknown as Net;
    const resBn = residualMlp({
      inputSize: 5,
      width: 4,
      depth: 2,
      numClasses: 3,
      skip: 'non-orthogonal',
      seed: 5,
    }) as unknown as Net;
    nets.push(vgg, res, resBn);
    for (const [net, shape] of [
      [vgg, [2, 28, 28, 1]],
      [res, [3, 6, 6, 2]],
      [resBn, [6, 5]],
    ] as const) {
      const x = tf.randomNormal([...shape], 0, 1, 'float32', 7);
      const worst = await expectNoLeak(() => check(net, x, 3, 0.05));
      console.log(`${net.name}: worst relative error ${worst.toExponential(2)}`);
      x.dispose();
    }
  });
});
