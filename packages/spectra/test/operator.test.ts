import { describe, expect, it } from 'vitest';
import { countingOperator, denseOperator } from '../src';

describe('SymmetricOperator adapters', () => {
  // A = [[2, 1], [1, 3]] applied to (1, -1) is (1, -2), by hand.
  const a = [2, 1, 1, 3];

  it('denseOperator computes A v; countingOperator counts products and resets', () => {
    const op = countingOperator(denseOperator(a, 2, 'A'));
    expect(Array.from(op.apply(Float64Array.of(1, -1)))).toEqual([1, -2]);
    op.apply(Float64Array.of(0, 1));
    expect(op.count).toBe(2);
    expect(op.label).toBe('A');
    op.reset();
    expect(op.count).toBe(0);
    expect(() => denseOperator([1, 2, 3], 2)).toThrow(/3 entries/);
  });
});
