import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockScalars, validateBlock, validateBlocks } from '../src';

beforeAll(useCpuBackend);

describe('block descriptor validation', () => {
  const w2 = () => tf.variable(tf.ones([3, 2]), true, `v${Math.random()}`);
  const w4 = () => tf.variable(tf.ones([3, 3, 1, 2]), true, `k${Math.random()}`);

  it('rejects unknown kinds, naming the block and pointing residual blocks elsewhere', () => {
    const weight = w2();
    expect(() => validateBlock({ weight, kind: 'residual' }, 3)).toThrow(
      new RegExp(
        `block 3 \\('${weight.name.replace('.', '\\.')}'\\).*unsupported kind "residual".*@bmp/backmatching`,
      ),
    );
  });

  it('rejects a weight that is not a variable', () => {
    expect(() => validateBlock({ weight: tf.ones([2, 2]), kind: 'dense' })).toThrow(/must be a tf.Variable/);
  });

  it('rejects wrong kernel ranks', () => {
    expect(() => validateBlock({ weight: w4(), kind: 'dense' })).toThrow(/rank 2/);
    expect(() =>
      validateBlock({ weight: w2(), kind: 'conv2d', inputPositions: 4, outputPositions: 4 }),
    ).toThrow(/rank 4/);
  });

  it('rejects conv blocks with missing or bad positions, strides or padding', () => {
    expect(() => validateBlock({ weight: w4(), kind: 'conv2d', outputPositions: 4 })).toThrow(
      /'inputPositions' must be a positive integer/,
    );
    expect(() =>
      validateBlock({ weight: w4(), kind: 'conv2d', inputPositions: 4, outputPositions: 0 }),
    ).toThrow(/'outputPositions'/);
    expect(() =>
      validateBlock({ weight: w4(), kind: 'conv2d', inputPositions: 4, outputPositions: 4, strides: [1] }),
    ).toThrow(/'strides'/);
    expect(() =>
      validateBlock({ weight: w4(), kind: 'conv2d', inputPositions: 4, outputPositions: 4, padding: 'full' }),
    ).toThrow(/'padding'/);
  });

  it('rejects the same weight in two blocks', () => {
    const weight = w2();
    expect(() =>
      validateBlocks([
        { weight, kind: 'dense' },
        { weight, kind: 'dense' },
      ]),
    ).toThrow(/appears in more than one block/);
  });

  it('blockScalars validates before computing', () => {
    expect(() => blockScalars({ weight: w2(), kind: 'conv' } as never)).toThrow(/unsupported kind/);
  });

  it('accepts well-formed blocks', () => {
    expect(() =>
      validateBlocks([
        {
          weight: w4(),
          kind: 'conv2d',
          inputPositions: 16,
          outputPositions: 16,
          strides: [1, 1],
          padding: 1,
        },
        { weight: w2(), kind: 'dense' },
      ]),
    ).not.toThrow();
  });
});
