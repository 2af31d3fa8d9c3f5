// applyGradientsAsync and readLastScales: the same arithmetic as the synchronous calls (bit for bit on
// one backend), for backends that can only download asynchronously (tfjs-backend-webgpu in Node).
import { expectNoLeak, randomArray, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Block, MomentumSGD, ScaleAmendedSGD } from '../src';

beforeAll(useCpuBackend);

let uid = 0;
const fresh = (p: string) => `${p}_a${++uid}`;

function net(seed: number): { blocks: Block[]; bias: tf.Variable } {
  const conv = tf.variable(tf.tensor4d(randomArray(3 * 3 * 2 * 4, seed), [3, 3, 2, 4]), true, fresh('conv'));
  const dense = tf.variable(tf.tensor2d(randomArray(4 * 3, seed + 1), [4, 3]), true, fresh('dense'));
  const bias = tf.variable(tf.tensor1d(randomArray(3, seed + 2)), true, fresh('bias'));
  return {
    blocks: [
      { weight: conv, kind: 'conv2d', inputPositions: 16, outputPositions: 16, padding: 'same' },
      { weight: dense, kind: 'dense' },
    ],
    bias,
  };
}

function gradsFor({ blocks, bias }: ReturnType<typeof net>, step: number): tf.NamedTensorMap {
  const g: tf.NamedTensorMap = {};
  for (const [i, v] of [...blocks.map((b) => b.weight), bias].entries()) {
    g[v.name] = tf.tensor(randomArray(v.size, 100 + 10 * step + i), v.shape);
  }
  return g;
}

describe.each([
  [
    'ScaleAmendedSGD',
    (blocks: Block[]) => new ScaleAmendedSGD({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, blocks }),
  ],
  [
    'MomentumSGD',
    (blocks: Block[]) => new MomentumSGD({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, blocks }),
  ],
])('%s', (_name, make) => {
  it('three async steps give the bits of three sync steps, with no tensor left behind', async () => {
    const a = net(1);
    const b = net(1);
    const optA = make(a.blocks);
    const optB = make(b.blocks);
    for (let step = 0; step < 3; step++) {
      const gA = gradsFor(a, step);
      const gB = gradsFor(b, step);
      optA.applyGradients(gA);
      // The first step creates the momentum buffers (and cached norms); later ones hold the count.
      if (step === 0) await optB.applyGradientsAsync(gB);
      else await expectNoLeak(() => optB.applyGradientsAsync(gB), 'applyGradientsAsync');
      tf.dispose([gA, gB]);
    }
    const vars = (n: ReturnType<typeof net>) => [...n.blocks.map((x) => x.weight), n.bias];
    for (const [i, v] of vars(a).entries()) {
      expect(Array.from(await vars(b)[i].data())).toEqual(Array.from(v.dataSync()));
    }
    expect(optB.iterations).toBe(3);
    if (optA instanceof ScaleAmendedSGD && optB instanceof ScaleAmendedSGD) {
      const withoutName = (scales: { name: string }[]) => scales.map(({ name: _, ...rest }) => rest);
      expect(withoutName(await optB.readLastScales())).toEqual(withoutName(optA.lastScales()));
      expect(optA.lastScales()).toHaveLength(2);
    }
  });

  it('a NaN gradient is refused asynchronously too: nothing changes, nothing leaks', async () => {
    const n = net(5);
    const opt = make(n.blocks);
    const g0 = gradsFor(n, 0);
    await opt.applyGradientsAsync(g0);
    tf.dispose(g0);
    const before = n.blocks.map((x) => Array.from(x.weight.dataSync()));
    const g = gradsFor(n, 1);
    const bad = n.blocks[1].weight.name;
    g[bad].dispose();
    g[bad] = tf.tensor2d([Number.NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [4, 3]);
    const tensorsBefore = tf.memory().numTensors;
    await expect(opt.applyGradientsAsync(g)).rejects.toThrow(
      new RegExp(`non-finite gradient for variable '${bad}'.*no weight was updated`),
    );
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    n.blocks.forEach((x, i) => {
      expect(Array.from(x.weight.dataSync())).toEqual(before[i]);
    });
    expect(opt.iterations).toBe(1);
    tf.dispose(g);
  });
});
