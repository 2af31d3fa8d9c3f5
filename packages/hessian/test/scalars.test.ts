import { expectNoLeak, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  backwardFactors,
  blockDims,
  blockScalars,
  type Conv2DBlock,
  type DenseBlock,
  rowMeanSquaredNorm,
  squaredFrobeniusNorm,
} from '../src';

beforeAll(useCpuBackend);

// Values below are worked out by hand from eq. (24); float32 storage limits agreement to ~1e-6 relative.
const REL = 1e-6;

function dense(values: number[][], name: string): DenseBlock {
  // values are given as the paper's W (nOut x nIn); tfjs stores the transpose [nIn, nOut].
  const w = tf.variable(tf.tensor2d(values).transpose(), true, name);
  return { weight: w, kind: 'dense' };
}

describe('dense blocks (eq. 24)', () => {
  // Paper W, 2 rows (outputs) x 3 columns (inputs): row norms^2 = 1+4+4 = 9 and 0+9+16 = 25.
  const block = () =>
    dense(
      [
        [1, 2, 2],
        [0, 3, 4],
      ],
      `d${Math.random()}`,
    );

  it('||W||^2_{2,mu} is the mean squared row norm', () => {
    expect(rowMeanSquaredNorm(block())).toBeCloseTo((9 + 25) / 2, 5);
  });

  it('mZ = nOut / nIn and mW = nOut / ||W||_F^2 = 1 / ||W||^2_{2,mu}', () => {
    const s = blockScalars(block());
    expect(s.mZ).toBeCloseTo(2 / 3, 12);
    expect(Math.abs(s.mW - 2 / 34) / (2 / 34)).toBeLessThan(REL);
    expect(s.degenerate).toBe(false);
  });

  it('mZ equals ||W^T||^2_{2,mu} / ||W||^2_{2,mu} as printed in eq. (24)', () => {
    // column norms^2 of W: 1, 13, 20 -> mean 34/3; row mean 34/2
    const s = blockScalars(block());
    expect(s.mZ).toBeCloseTo(34 / 3 / (34 / 2), 12);
  });

  it('a zero kernel is degenerate and uses mW = 1', () => {
    const s = blockScalars(
      dense(
        [
          [0, 0],
          [0, 0],
          [0, 0],
        ],
        `zero${Math.random()}`,
      ),
    );
    expect(s).toEqual({ mW: 1, mZ: 3 / 2, degenerate: true });
  });

  it('a kernel just above the threshold is not degenerate', () => {
    // 4 weights of 1e-5: ||W||_F^2 = 4e-10 >= 1e-12 * 4
    const s = blockScalars(
      dense(
        [
          [1e-5, 1e-5],
          [1e-5, 1e-5],
        ],
        `tiny${Math.random()}`,
      ),
    );
    expect(s.degenerate).toBe(false);
    expect(Math.abs(s.mW - 2 / 4e-10) / (2 / 4e-10)).toBeLessThan(1e-5);
  });

  it('does not leak tensors', async () => {
    const b = block();
    await expectNoLeak(() => {
      blockScalars(b);
      rowMeanSquaredNorm(b);
      squaredFrobeniusNorm(b.weight).dispose();
    });
  });
});

describe('conv blocks (eq. 24 on the unrolled operator)', () => {
  // kernel [kh=3, kw=3, cIn=2, cOut=4], every weight 0.5: ||W||_F^2 = 72 * 0.25 = 18
  const conv = (extra: Partial<Conv2DBlock> = {}): Conv2DBlock => ({
    weight: tf.variable(tf.fill([3, 3, 2, 4], 0.5), true, `c${Math.random()}`),
    kind: 'conv2d',
    inputPositions: 32 * 32,
    outputPositions: 16 * 16,
    strides: 2,
    padding: 'same',
    ...extra,
  });

  it('||W||^2_{2,mu} averages over the cOut filters', () => {
    expect(rowMeanSquaredNorm(conv())).toBeCloseTo(18 / 4, 5);
  });

  it('mZ = cOut * P_out / (cIn * P_in) = cOut / (cIn * sh * sw) for same padding', () => {
    const s = blockScalars(conv());
    expect(s.mZ).toBeCloseTo((4 * 256) / (2 * 1024), 12);
    expect(s.mZ).toBeCloseTo(4 / (2 * 2 * 2), 12);
  });

  it('mW = P_out * cOut / ||W||_F^2 with position scaling, cOut / ||W||_F^2 without', () => {
    expect(blockScalars(conv()).mW).toBeCloseTo((256 * 4) / 18, 4);
    expect(blockScalars(conv(), { positionScaling: false }).mW).toBeCloseTo(4 / 18, 6);
  });

  it('blockDims reports rows, count and the numerator', () => {
    expect(blockDims(conv())).toEqual({ rows: 4, count: 72, mZ: 0.5, mWNumerator: 1024 });
  });
});

describe('backward factors (Algorithm 2)', () => {
  it('m = 1 at the output and multiplies by each upper block mZ going down', () => {
    const b1 = dense(
      [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
      ],
      `b1${Math.random()}`,
    ); // 4 -> 2, mZ 1/2
    const b2 = dense(
      [
        [1, 1],
        [1, 1],
        [1, 1],
      ],
      `b2${Math.random()}`,
    ); // 2 -> 3, mZ 3/2
    const b3 = dense([[1, 1, 1]], `b3${Math.random()}`); // 3 -> 1, mZ 1/3
    // m on b3's output = 1, on b2's output = mZ(b3) = 1/3, on b1's output = 1/3 * 3/2 = 1/2
    const m = backwardFactors([b1, b2, b3]);
    expect(m[2]).toBe(1);
    expect(m[1]).toBeCloseTo(1 / 3, 14);
    expect(m[0]).toBeCloseTo(1 / 2, 14);
  });

  it('an empty chain has no factors', () => {
    expect(backwardFactors([])).toEqual([]);
  });
});
