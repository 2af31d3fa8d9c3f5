import { tf, useCpuBackend } from '@bmp/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Conv2DBlock, type Network, paperVgg, type VggDepth, vggChannels } from '../src';
import { roundHalfEven } from '../src/internals';

beforeAll(useCpuBackend);

const live: Network[] = [];
const track = (m: Network) => {
  live.push(m);
  return m;
};
afterEach(() => {
  while (live.length > 0) live.pop()!.dispose();
});

// Written out again here (not imported) so that the counts below are an independent computation.
const TABLE: Record<VggDepth, Array<number | 'M'>> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};
const DEPTHS: VggDepth[] = [11, 13, 16, 19];

function expectedCount(depth: VggDepth, width: number, inChannels: number, classes: number): number {
  let c = inChannels;
  let total = 0;
  for (const v of TABLE[depth]) {
    if (v === 'M') continue;
    const out = Math.max(1, Math.round(v * width)); // no .5 cases at the widths used here
    total += 3 * 3 * c * out;
    c = out;
  }
  return total + c * classes; // 32x32 input -> 1x1 after five pools
}

describe('paperVgg structure', () => {
  it.each(DEPTHS)('VGG%i: logits [batch, classes] for 32x32x3 and 28x28x1 inputs', (depth) => {
    const m = track(paperVgg({ depth, numClasses: 10, widthMultiplier: 0.0625, seed: 1 }));
    expect(m.inputShape).toEqual([32, 32, 3]);
    const y = tf.tidy(() => m.apply(tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3)));
    expect(y.shape).toEqual([2, 10]);
    y.dispose();
    const f = track(paperVgg({ depth, numClasses: 7, widthMultiplier: 0.0625, inputShape: [28, 28, 1] }));
    const z = tf.tidy(() => f.apply(tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 4), { training: true }));
    expect(z.shape).toEqual([3, 7]);
    z.dispose();
    // 28x28 is zero-padded by 2 pixels on each side to 32x32
    const pad = f.describe().find((l) => l.op === 'zeroPad')!;
    expect(pad.shape).toEqual([32, 32, 1]);
  });

  it.each(DEPTHS)(
    'VGG%i parameter count matches the config table (full width, CIFAR and 1-channel input)',
    (depth) => {
      const m = track(paperVgg({ depth, numClasses: 10 }));
      expect(m.parameterCount).toBe(expectedCount(depth, 1, 3, 10));
      m.dispose();
      const s = track(paperVgg({ depth, numClasses: 100, widthMultiplier: 0.125, inputShape: [28, 28, 1] }));
      expect(s.parameterCount).toBe(expectedCount(depth, 0.125, 1, 100));
    },
  );

  it('VGG13 for CIFAR-10 has 9,407,168 weights, as PyTorch reports for the same net', () => {
    const m = track(paperVgg({ depth: 13, numClasses: 10 }));
    expect(m.parameterCount).toBe(9_407_168);
    expect(m.trainableVariables.reduce((s, v) => s + v.size, 0)).toBe(9_407_168);
  });

  it('widths follow max(1, round(v * width)) with Python rounding (half to even)', () => {
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(2.4)).toBe(2);
    expect(vggChannels(11, 0.0390625)).toEqual([2, 'M', 5, 'M', 10, 10, 'M', 20, 20, 'M', 20, 20, 'M']);
    expect(vggChannels(11, 0.001).filter((v) => v !== 'M')).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('VGG13 blocks: conv positions 1024,1024,256,256,64,64,16,16,4,4 (input before pool), then dense', () => {
    const m = track(paperVgg({ depth: 13, numClasses: 10, widthMultiplier: 0.0625 }));
    expect(m.blocks).toHaveLength(11);
    const convs = m.blocks.slice(0, 10) as Conv2DBlock[];
    const inExpected = [1024, 1024, 256, 256, 64, 64, 16, 16, 4, 4];
    convs.forEach((b, i) => {
      expect(b.kind).toBe('conv2d');
      expect(b.inputPositions).toBe(inExpected[i]);
      expect(b.outputPositions).toBe(inExpected[i]);
      expect(b.strides).toBe(1);
      expect(b.padding).toBe('same');
      expect(b.weight.name).toBe(`vgg13/conv${i + 1}/kernel`);
    });
    expect(m.blocks[10].kind).toBe('dense');
    expect(m.blocks[10].weight.name).toBe('vgg13/fc/kernel');
    expect(m.blocks[10].weight.shape).toEqual([32, 10]);
    expect(m.blocks.map((b) => b.weight)).toEqual(m.trainableVariables);
  });

  it('variable names are deterministic, unique per instance, and collisions are clear errors', () => {
    const a = track(paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625 }));
    const b = track(paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625 }));
    expect(a.name).toBe('vgg11');
    expect(b.name).toBe('vgg11_1');
    expect(a.namedVariables().has('bn3/running_mean')).toBe(true);
    expect(a.variables.map((v) => v.name)).toContain('vgg11/bn3/running_var');
    const before = tf.memory().numTensors;
    expect(() => paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, name: 'vgg11' })).toThrow(
      /model name 'vgg11' is already in use/,
    );
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    const c = track(paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, name: 'vgg11' }));
    expect(c.name).toBe('vgg11');
    expect(() => c.apply(tf.zeros([1, 32, 32, 1]))).toThrow(/expects input \[batch, 32, 32, 3\]/);
  });

  it('the same seed gives the same weights; another seed different ones', () => {
    const a = track(paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, seed: 5 }));
    const b = track(paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, seed: 5 }));
    const c = track(paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, seed: 6 }));
    a.trainableVariables.forEach((v, i) => {
      expect(Array.from(v.dataSync())).toEqual(Array.from(b.trainableVariables[i].dataSync()));
    });
    expect(Array.from(a.trainableVariables[0].dataSync())).not.toEqual(
      Array.from(c.trainableVariables[0].dataSync()),
    );
  });

  it('rejects bad options', () => {
    expect(() => paperVgg({ depth: 12 as VggDepth, numClasses: 10 })).toThrow(
      /depth must be 11, 13, 16 or 19/,
    );
    expect(() => paperVgg({ depth: 11, numClasses: 0 })).toThrow(/numClasses/);
    expect(() => paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0 })).toThrow(/widthMultiplier/);
  });
});
