import { describe, expect, it } from 'vitest';
import { smoothEma, smoothSeries } from '../src/index';

// Hand-computed: last_k = w last_{k-1} + (1 - w) y_k, smoothed_k = last_k / (1 - w^k). Tolerance 1e-12.
const TOL = 12;

describe('smoothEma (TensorBoard debiased EMA)', () => {
  it('w = 0.5 on [1, 2, 3]: 1, 1.25/0.75, 2.125/0.875', () => {
    const s = smoothEma([1, 2, 3], 0.5);
    expect(s[0]).toBeCloseTo(1, TOL);
    expect(s[1]).toBeCloseTo(5 / 3, TOL);
    expect(s[2]).toBeCloseTo(17 / 7, TOL);
  });

  it('w = 0.6 on [10, 0]: 10, then 2.4 / 0.64 = 3.75', () => {
    const s = smoothEma([10, 0], 0.6);
    expect(s[0]).toBeCloseTo(10, TOL);
    expect(s[1]).toBeCloseTo(3.75, TOL);
  });

  it('the first value is never biased towards 0', () => {
    for (const w of [0.1, 0.9, 0.999]) expect(smoothEma([7, 1], w)[0]).toBeCloseTo(7, 9);
  });

  it('non-finite values pass through and do not advance the debiasing count', () => {
    const s = smoothEma([1, Number.NaN, 3, Number.POSITIVE_INFINITY], 0.5);
    expect(s[0]).toBeCloseTo(1, TOL);
    expect(s[1]).toBeNaN();
    expect(s[2]).toBeCloseTo(1.75 / 0.75, TOL); // (0.25 + 1.5) / (1 - 0.5^2)
    expect(s[3]).toBe(Number.POSITIVE_INFINITY);
  });

  it('w = 0 is the identity; a constant series stays constant', () => {
    expect(smoothEma([3, 1, 4, 1, 5], 0)).toEqual([3, 1, 4, 1, 5]);
    expect(smoothEma([0.1, 0.1, 0.1], 0.9)).toEqual([0.1, 0.1, 0.1]);
    expect(smoothEma([], 0.9)).toEqual([]);
  });

  it('rejects a weight outside [0, 1)', () => {
    expect(() => smoothEma([1], 1)).toThrow(RangeError);
    expect(() => smoothEma([1], -0.1)).toThrow(RangeError);
    expect(() => smoothEma([1], Number.NaN)).toThrow(RangeError);
  });

  it('smoothSeries keeps x', () => {
    const s = smoothSeries(
      [
        { x: 0, y: 1 },
        { x: 5, y: 2 },
      ],
      0.5,
    );
    expect(s.map((p) => p.x)).toEqual([0, 5]);
    expect(s[1].y).toBeCloseTo(5 / 3, TOL);
  });
});
