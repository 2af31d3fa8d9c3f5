import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Block, MomentumSGD, ScaleAmendedSGD } from '../src';

beforeAll(useCpuBackend);

let uid = 0;
const fresh = (p: string) => `${p}_r${++uid}`;

function net(): { blocks: Block[]; bias: tf.Variable } {
  const conv = tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 0.3, 'float32', 1), true, fresh('conv'));
  const kernel = tf.variable(tf.randomNormal([64, 3], 0, 0.3, 'float32', 2), true, fresh('dense'));
  const bias = tf.variable(tf.zeros([3]), true, fresh('bias'));
  return {
    blocks: [
      { weight: conv, kind: 'conv2d', inputPositions: 16, outputPositions: 16, padding: 'same' },
      { weight: kernel, kind: 'dense' },
    ],
    bias,
  };
}

function grads(vars: tf.Variable[], step: number): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    out[v.name] = tf.randomNormal(v.shape, 0, 0.1, 'float32', 100 * step + i);
  });
  return out;
}

describe('save and restore', () => {
  for (const Cls of [ScaleAmendedSGD, MomentumSGD]) {
    it(`${Cls.className}: a restored optimizer takes bit-identically the step the original takes`, async () => {
      const { blocks, bias } = net();
      const vars = [...blocks.map((b) => b.weight), bias];
      const opt = new Cls({ learningRate: 0.05, momentum: 0.9, weightDecay: 0.005, nesterov: true, blocks });
      for (let s = 0; s < 3; s++) {
        const g = grads(vars, s);
        opt.applyGradients(g);
        tf.dispose(g);
      }
      opt.setLearningRate(0.02); // as a schedule would

      // what a checkpoint holds: model weights, optimizer weights (iterations first), optimizer config
      const savedVars = vars.map((v) => v.clone());
      const savedOpt = (await opt.getWeights()).map(({ name, tensor }) => ({ name, tensor: tensor.clone() }));
      const config = JSON.parse(JSON.stringify(opt.getConfig()));
      expect(savedOpt[0].name).toBe('iter');
      const names = savedOpt.slice(1).map((w) => w.name);
      expect(names.filter((n) => n.endsWith('/momentum'))).toEqual(vars.map((v) => `${v.name}/momentum`));
      // scale-amended buffers are kept as v = unit * u: the units of the block variables are saved too
      const units = Cls === ScaleAmendedSGD ? blocks.map((b) => `${b.weight.name}/momentum_unit`) : [];
      expect(names.filter((n) => n.endsWith('/momentum_unit'))).toEqual(units);

      const g = grads(vars, 3);
      opt.applyGradients(g);
      const expected = vars.map((v) => v.dataSync().slice());
      opt.dispose();

      // restore through the serialisation registry, as tfjs-layers does, into the same variables
      vars.forEach((v, i) => {
        v.assign(savedVars[i]);
      });
      const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[Cls.className];
      const restored = fromConfig(cls, config) as InstanceType<typeof Cls>;
      await restored.setWeights(savedOpt);
      expect(restored.iterations).toBe(3);
      expect(restored.learningRate).toBe(0.02);
      restored.applyGradients(g);
      vars.forEach((v, i) => {
        expect(v.dataSync()).toEqual(expected[i]);
      });
      tf.dispose([g, savedVars, savedOpt.map((w) => w.tensor)]);
      restored.dispose();
    });
  }

  it('blocks given by name bind at the first step and fail clearly when the variable is gone', () => {
    const w = tf.variable(tf.ones([2, 2]), true, fresh('named'));
    const opt = new ScaleAmendedSGD({ learningRate: 0.1, blocks: [{ name: w.name, kind: 'dense' }] });
    const g = tf.ones([2, 2]);
    opt.applyGradients({ [w.name]: g });
    expect(opt.lastScales()[0].name).toBe(w.name);
    const orphan = new ScaleAmendedSGD({
      learningRate: 0.1,
      blocks: [{ name: 'gone/kernel', kind: 'dense' }],
    });
    expect(() => orphan.applyGradients({ [w.name]: g })).toThrow(/no variable named 'gone\/kernel'/);
    g.dispose();
  });
});
