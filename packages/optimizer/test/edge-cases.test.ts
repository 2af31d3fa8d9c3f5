import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Block, CosineAnnealingLR, MomentumSGD, ReduceLROnPlateau, ScaleAmendedSGD } from '../src';

beforeAll(useCpuBackend);

let uid = 0;
const fresh = (p: string) => `${p}_e${++uid}`;

function dense(nIn: number, nOut: number, fill = 0.5): Block {
  return { weight: tf.variable(tf.fill([nIn, nOut], fill), true, fresh('k')), kind: 'dense' };
}

describe('bad input', () => {
  it('a NaN gradient throws naming the variable before any weight changes', () => {
    const blocks = [dense(2, 3), dense(3, 2)];
    const bias = tf.variable(tf.zeros([2]), true, fresh('bias'));
    const opt = new ScaleAmendedSGD({ learningRate: 0.1, momentum: 0.9, blocks });
    const before = blocks.map((b) => Array.from(b.weight.dataSync()));
    const grads = {
      [blocks[0].weight.name]: tf.ones([2, 3]),
      [blocks[1].weight.name]: tf.tensor2d([1, Number.NaN, 0, 0, 0, 0], [3, 2]),
      [bias.name]: tf.ones([2]),
    };
    expect(() => opt.applyGradients(grads)).toThrow(
      new RegExp(`non-finite gradient for variable '${blocks[1].weight.name}'.*no weight was updated`),
    );
    blocks.forEach((b, i) => {
      expect(Array.from(b.weight.dataSync())).toEqual(before[i]);
    });
    expect(Array.from(bias.dataSync())).toEqual([0, 0]);
    expect(opt.iterations).toBe(0);
    tf.dispose(grads);
  });

  it('an infinite gradient throws too', () => {
    const w = tf.variable(tf.ones([2]), true, fresh('free'));
    const opt = new MomentumSGD({ learningRate: 0.1 });
    const g = tf.tensor1d([Number.POSITIVE_INFINITY, 0]);
    expect(() => opt.applyGradients([{ name: w.name, tensor: g }])).toThrow(/non-finite gradient.*free/);
    g.dispose();
  });

  it('a gradient of the wrong shape throws naming the variable and both shapes', () => {
    const b = dense(2, 3);
    const opt = new ScaleAmendedSGD({ learningRate: 0.1, blocks: [b] });
    const g = tf.ones([3, 2]);
    expect(() => opt.applyGradients({ [b.weight.name]: g })).toThrow(
      new RegExp(`gradient for '${b.weight.name}' has shape \\[3,2\\] but the variable has shape \\[2,3\\]`),
    );
    g.dispose();
  });

  it('an unknown variable name throws', () => {
    const opt = new MomentumSGD({ learningRate: 0.1 });
    const g = tf.ones([1]);
    expect(() => opt.applyGradients({ 'no/such/var': g })).toThrow(/no variable named 'no\/such\/var'/);
    g.dispose();
  });

  it('descriptors with a wrong kind or missing positions are rejected at construction', () => {
    const w = tf.variable(tf.ones([3, 3, 1, 2]), true, fresh('conv'));
    expect(
      () => new ScaleAmendedSGD({ learningRate: 0.1, blocks: [{ weight: w, kind: 'residual' } as never] }),
    ).toThrow(/unsupported kind "residual"/);
    expect(
      () =>
        new ScaleAmendedSGD({
          learningRate: 0.1,
          blocks: [{ weight: w, kind: 'conv2d', outputPositions: 4 } as never],
        }),
    ).toThrow(/'inputPositions' must be a positive integer/);
  });

  it('bad hyper-parameters are rejected with the option named', () => {
    const blocks = [dense(2, 2)];
    expect(() => new ScaleAmendedSGD({ learningRate: -1, blocks })).toThrow(/learningRate/);
    expect(() => new ScaleAmendedSGD({ learningRate: 0.1, momentum: Number.NaN, blocks })).toThrow(
      /momentum/,
    );
    expect(() => new ScaleAmendedSGD({ learningRate: 0.1, weightDecay: -0.1, blocks })).toThrow(
      /weightDecay/,
    );
    expect(() => new ScaleAmendedSGD({ learningRate: 0.1, nesterov: true, blocks })).toThrow(
      /nesterov requires momentum/,
    );
    expect(() => new ScaleAmendedSGD({ learningRate: 0.1 })).toThrow(/needs `blocks`/);
  });
});

describe('frozen and degenerate blocks', () => {
  it('a block without gradient is not updated, keeps passing mZ down, and is reported once', () => {
    // dense 4 -> 2 (mZ 1/2), dense 2 -> 6 (mZ 3, frozen), dense 6 -> 3 (mZ 1/2)
    const blocks = [dense(4, 2), dense(2, 6), dense(6, 3)];
    const warnings: string[] = [];
    const opt = new ScaleAmendedSGD({ learningRate: 0.1, blocks, onWarning: (w) => warnings.push(w) });
    const frozenBefore = Array.from(blocks[1].weight.dataSync());
    for (let s = 0; s < 3; s++) {
      const g = { [blocks[0].weight.name]: tf.ones([4, 2]), [blocks[2].weight.name]: tf.ones([6, 3]) };
      opt.applyGradients(g);
      tf.dispose(g);
    }
    expect(Array.from(blocks[1].weight.dataSync())).toEqual(frozenBefore);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`block '${blocks[1].weight.name}' received no gradient`));
    const scales = opt.lastScales();
    expect(scales.map((s) => s.frozen)).toEqual([false, true, false]);
    // m on block 0's output = mZ(block 2) * mZ(block 1) = 1/2 * 3: the frozen block still passes its mZ
    expect(scales[0].m).toBeCloseTo(1.5, 12);
    opt.dispose();
  });

  it('a zero kernel uses mW = 1, is flagged degenerate, and its update uses 1 / m only', () => {
    // block 0: zero kernel [2, 2] (mZ 1); block 1: dense 2 -> 4 (mZ 2) so m on block 0's output = 2
    const blocks = [dense(2, 2, 0), dense(2, 4)];
    const opt = new ScaleAmendedSGD({ learningRate: 1, blocks });
    const g = { [blocks[0].weight.name]: tf.ones([2, 2]), [blocks[1].weight.name]: tf.zeros([2, 4]) };
    opt.applyGradients(g);
    tf.dispose(g);
    const [s0] = opt.lastScales();
    expect(s0).toMatchObject({ mW: 1, mZ: 1, m: 2, degenerate: true });
    // W = 0 - lr * g / (m * mW) = -1 / 2
    expect(Array.from(blocks[0].weight.dataSync())).toEqual([-0.5, -0.5, -0.5, -0.5]);
    opt.dispose();
  });

  it('variables outside every block get plain momentum SGD with the same options', () => {
    const blocks = [dense(2, 2)];
    const bias = tf.variable(tf.tensor1d([1, -1]), true, fresh('bias'));
    const opt = new ScaleAmendedSGD({ learningRate: 0.1, momentum: 0.5, weightDecay: 0.5, blocks });
    for (let s = 0; s < 2; s++) {
      const g = { [blocks[0].weight.name]: tf.zeros([2, 2]), [bias.name]: tf.tensor1d([1, 1]) };
      opt.applyGradients(g);
      tf.dispose(g);
    }
    // by hand, element 0: g' = 1 + 0.5 * 1 = 1.5, v = 1.5, w = 1 - 0.15 = 0.85;
    //   g' = 1 + 0.425 = 1.425, v = 0.75 + 1.425 = 2.175, w = 0.85 - 0.2175 = 0.6325
    // element 1: g' = 1 - 0.5 = 0.5, v = 0.5, w = -1.05; g' = 1 - 0.525 = 0.475, v = 0.725, w = -1.1225
    const [w0, w1] = bias.dataSync();
    expect(w0).toBeCloseTo(0.6325, 6);
    expect(w1).toBeCloseTo(-1.1225, 6);
    opt.dispose();
  });

  it('setLearningRate changes the next step', () => {
    const w = tf.variable(tf.tensor1d([0]), true, fresh('free'));
    const opt = new MomentumSGD({ learningRate: 1 });
    opt.setLearningRate(0.25);
    expect(opt.learningRate).toBe(0.25);
    const g = tf.tensor1d([1]);
    opt.applyGradients({ [w.name]: g });
    expect(w.dataSync()[0]).toBe(-0.25);
    expect(() => opt.setLearningRate(Number.NaN)).toThrow(/learningRate/);
    g.dispose();
    opt.dispose();
  });

  it('instanceof is the ordinary prototype check for our classes, and both are tf.Optimizers', () => {
    const opt = new MomentumSGD({ learningRate: 0.1 });
    expect(opt instanceof ScaleAmendedSGD).toBe(false);
    expect(opt instanceof MomentumSGD).toBe(true);
    expect(opt instanceof tf.Optimizer).toBe(true);
    opt.dispose();
  });
});

describe('schedules drive the optimizers', () => {
  it('ReduceLROnPlateau halves ScaleAmendedSGD learning rate after patience bad epochs (paper settings)', () => {
    const opt = new ScaleAmendedSGD({ learningRate: 0.1, momentum: 0.9, blocks: [dense(2, 2)] });
    const plateau = new ReduceLROnPlateau(opt, { mode: 'max', factor: 0.5, patience: 2 });
    // accuracy improves once, then stalls: epochs 2, 3 are bad (<= patience), epoch 4 is the third bad one
    const rates = [0.5, 0.6, 0.6, 0.59, 0.6].map((acc) => {
      plateau.step(acc);
      return opt.learningRate;
    });
    expect(rates).toEqual([0.1, 0.1, 0.1, 0.1, 0.05]);
    opt.dispose();
  });

  it('CosineAnnealingLR sets MomentumSGD to the closed form', () => {
    const opt = new MomentumSGD({ learningRate: 1 });
    const cosine = new CosineAnnealingLR(opt, { tMax: 4 });
    cosine.step();
    // eta_min + (1 - eta_min) * (1 + cos(pi / 4)) / 2 with eta_min 0
    expect(opt.learningRate).toBeCloseTo((1 + Math.cos(Math.PI / 4)) / 2, 12);
    opt.dispose();
  });
});
