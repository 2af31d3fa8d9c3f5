import { expectNoLeak, maxRelativeError, randomArray, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Block, MomentumSGD, ScaleAmendedSGD } from '../src';
import { type RefBlock, type RefOptions, refScalars, refStep } from './reference';

beforeAll(useCpuBackend);

// float32 weights against a float64 reference over a few steps: 2e-5 relative covers accumulated rounding.
const TOL = 2e-5;
let uid = 0;
const fresh = (p: string) => `${p}_${++uid}`;

interface Net {
  blocks: Block[];
  ref: RefBlock[];
}

/** conv [3,3,2,4] (8x8 -> 4x4, stride 2) -> conv [3,3,4,3] (4x4, same) -> dense [48, 5] */
function makeNet(seed: number): Net {
  const shapes = [
    { shape: [3, 3, 2, 4], conv: { cIn: 2, cOut: 4, pIn: 64, pOut: 16 }, strides: 2 },
    { shape: [3, 3, 4, 3], conv: { cIn: 4, cOut: 3, pIn: 16, pOut: 16 }, strides: 1 },
    { shape: [48, 5], conv: null, strides: 1 },
  ] as const;
  const blocks: Block[] = [];
  const ref: RefBlock[] = [];
  shapes.forEach((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const values = randomArray(n, seed + i, 0.5);
    const weight = tf.variable(tf.tensor(values, [...s.shape]), true, fresh(`w${i}`));
    blocks.push(
      s.conv == null
        ? { weight, kind: 'dense' }
        : {
            weight,
            kind: 'conv2d',
            inputPositions: s.conv.pIn,
            outputPositions: s.conv.pOut,
            strides: s.strides,
            padding: 'same',
          },
    );
    const rows = s.shape[s.shape.length - 1];
    ref.push({ w: Float64Array.from(values), rows, cols: n / rows, conv: s.conv, v: new Float64Array(n) });
  });
  return { blocks, ref };
}

function gradients(net: Net, step: number): { map: tf.NamedTensorMap; ref: Float64Array[] } {
  const map: tf.NamedTensorMap = {};
  const ref: Float64Array[] = [];
  net.blocks.forEach((b, i) => {
    const values = randomArray(b.weight.size, 1000 * step + i, 0.1);
    map[b.weight.name] = tf.tensor(values, b.weight.shape);
    ref.push(Float64Array.from(values));
  });
  return { map, ref };
}

function compareWithReference(net: Net): number {
  let worst = 0;
  net.blocks.forEach((b, i) => {
    worst = Math.max(worst, maxRelativeError(b.weight.dataSync(), net.ref[i].w, 1e-3));
  });
  return worst;
}

function run(optimizerOptions: RefOptions, steps: number) {
  const net = makeNet(7);
  const Cls = optimizerOptions.amend ? ScaleAmendedSGD : MomentumSGD;
  const opt = new Cls({
    learningRate: optimizerOptions.lr,
    momentum: optimizerOptions.momentum,
    weightDecay: optimizerOptions.weightDecay,
    nesterov: optimizerOptions.nesterov,
    blocks: net.blocks,
  });
  for (let s = 0; s < steps; s++) {
    const g = gradients(net, s);
    opt.applyGradients(g.map);
    tf.dispose(g.map);
    refStep(net.ref, g.ref, optimizerOptions);
  }
  return { net, opt };
}

describe('ScaleAmendedSGD against an independent float64 Algorithm 2', () => {
  const cases: Array<[string, RefOptions]> = [
    ['plain', { lr: 0.1, momentum: 0, weightDecay: 0, nesterov: false, amend: true }],
    [
      'momentum + weight decay',
      { lr: 0.05, momentum: 0.9, weightDecay: 0.005, nesterov: false, amend: true },
    ],
    ['nesterov + weight decay', { lr: 0.05, momentum: 0.9, weightDecay: 0.01, nesterov: true, amend: true }],
  ];
  for (const [label, o] of cases) {
    it(`${label}: 4 steps on conv, conv, dense blocks`, () => {
      const { net, opt } = run(o, 4);
      expect(compareWithReference(net)).toBeLessThan(TOL);
      opt.dispose();
    });
  }

  it('MomentumSGD matches the reference without amendment', () => {
    const { net, opt } = run(
      { lr: 0.05, momentum: 0.9, weightDecay: 0.005, nesterov: true, amend: false },
      4,
    );
    expect(compareWithReference(net)).toBeLessThan(TOL);
    opt.dispose();
  });

  it('lastScales reports m, mW, mZ from the weights before the last update', () => {
    const net = makeNet(3);
    const before = net.ref.map((b) => refScalars(b));
    const opt = new ScaleAmendedSGD({ learningRate: 0.1, blocks: net.blocks });
    expect(opt.lastScales()).toEqual([]);
    const g = gradients(net, 0);
    opt.applyGradients(g.map);
    tf.dispose(g.map);
    const scales = opt.lastScales();
    expect(scales.map((s) => s.name)).toEqual(net.blocks.map((b) => b.weight.name));
    // m: 1 on the output, then times mZ of the blocks above
    const m = [before[2].mZ * before[1].mZ, before[2].mZ, 1];
    scales.forEach((s, i) => {
      expect(Math.abs(s.mW - before[i].mW) / before[i].mW).toBeLessThan(1e-5);
      expect(s.mZ).toBeCloseTo(before[i].mZ, 10);
      expect(s.m).toBeCloseTo(m[i], 10);
      expect(s.degenerate).toBe(false);
      expect(s.frozen).toBe(false);
    });
    opt.dispose();
  });
});

describe('MomentumSGD', () => {
  class ForcedToOne extends ScaleAmendedSGD {
    protected override blockScales(blocks: Parameters<ScaleAmendedSGD['blockScales']>[0]) {
      super.blockScales(blocks);
      return new Map(blocks.map((b) => [b.name, tf.scalar(1)]));
    }
  }

  it('equals ScaleAmendedSGD with every scalar forced to 1, bit for bit', () => {
    const a = makeNet(11);
    const b = makeNet(11);
    const options = { learningRate: 0.1, momentum: 0.9, weightDecay: 0.005, nesterov: true };
    const amended = new ForcedToOne({ ...options, blocks: a.blocks });
    const plain = new MomentumSGD({ ...options, blocks: b.blocks });
    for (let s = 0; s < 3; s++) {
      const ga = gradients(a, s);
      const gb = gradients(b, s);
      amended.applyGradients(ga.map);
      plain.applyGradients(gb.map);
      tf.dispose([ga.map, gb.map]);
    }
    a.blocks.forEach((blk, i) => {
      expect(blk.weight.dataSync()).toEqual(b.blocks[i].weight.dataSync());
    });
    amended.dispose();
    plain.dispose();
  });

  it('equals tfjs-core momentum (tf.train.momentum) without weight decay, bit for bit', () => {
    for (const nesterov of [false, true]) {
      const a = makeNet(5);
      const b = makeNet(5);
      const ours = new MomentumSGD({ learningRate: 0.03, momentum: 0.8, nesterov });
      const theirs = tf.train.momentum(0.03, 0.8, nesterov);
      for (let s = 0; s < 3; s++) {
        const ga = gradients(a, s);
        const gb = gradients(b, s);
        ours.applyGradients(ga.map);
        theirs.applyGradients(gb.map as Parameters<typeof theirs.applyGradients>[0]);
        tf.dispose([ga.map, gb.map]);
      }
      a.blocks.forEach((blk, i) => {
        expect(blk.weight.dataSync()).toEqual(b.blocks[i].weight.dataSync());
      });
      ours.dispose();
      theirs.dispose();
    }
  });

  it('needs no blocks', () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, fresh('free'));
    const opt = new MomentumSGD({ learningRate: 0.5 });
    const g = tf.tensor1d([1, -1]);
    opt.applyGradients({ [w.name]: g });
    expect(Array.from(w.dataSync())).toEqual([0.5, 2.5]);
    g.dispose();
    opt.dispose();
  });
});

describe('memory', () => {
  it('keeps tf.memory().numTensors flat across steps (both optimizers, both input forms)', async () => {
    const net = makeNet(9);
    for (const opt of [
      new ScaleAmendedSGD({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.005, blocks: net.blocks }),
      new MomentumSGD({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.005, blocks: net.blocks }),
    ]) {
      const g = gradients(net, 0);
      const array = Object.entries(g.map).map(([name, tensor]) => ({ name, tensor }));
      opt.applyGradients(g.map); // first step creates the momentum slots
      await expectNoLeak(() => {
        for (let s = 0; s < 3; s++) {
          opt.applyGradients(s % 2 ? g.map : array);
          if (opt instanceof ScaleAmendedSGD) opt.lastScales();
        }
      }, opt.getClassName());
      tf.dispose(g.map);
      const before = tf.memory().numTensors;
      opt.dispose();
      expect(tf.memory().numTensors).toBeLessThan(before);
    }
  });
});
