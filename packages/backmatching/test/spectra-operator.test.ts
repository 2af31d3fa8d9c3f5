import { expectNoLeak, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { countingOperator, denseOperator, tfOperator } from '../src/spectra';

beforeAll(useCpuBackend);

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

  it('tfOperator matches the float64 product to float32 precision and leaks no tensor', async () => {
    const n = 64;
    const data = Float64Array.from({ length: n * n }, (_, k) => {
      const i = Math.floor(k / n);
      const j = k % n;
      return Math.cos(i + j) + (i === j ? 2 : 0); // symmetric: depends on i + j and on i === j
    });
    const m = tf.tensor2d(Float32Array.from(data), [n, n]);
    const op = tfOperator(n, (v) => tf.matMul(m, v.reshape([n, 1])).reshape([n]) as tf.Tensor1D, 'matmul');
    const v = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const got = await expectNoLeak(() => op.apply(v), 'tfOperator.apply');
    const want = denseOperator(data, n).apply(v);
    const scale = Math.max(...want.map(Math.abs));
    // float32 inputs and products over 64 terms: 1e-5 of max |A v| (observed ~1e-7)
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * scale);
    expect(got).toBeInstanceOf(Float64Array);
    m.dispose();
  });

  it('tfOperator throws on a leaking product and on a wrong size', () => {
    const kept: tf.Tensor[] = [];
    const leaky = tfOperator(3, (v) => {
      // tf.keep escapes the tidy: the adapter must notice the extra live tensor.
      kept.push(tf.keep(tf.mul(v, 2)));
      return v.clone();
    });
    expect(() => leaky.apply(new Float64Array(3))).toThrow(/leaked/);
    for (const t of kept) t.dispose();
    const wrong = tfOperator(3, (v) => tf.concat([v, v]) as tf.Tensor1D);
    expect(() => wrong.apply(new Float64Array(3))).toThrow(/6 entries/);
    expect(() => wrong.apply(new Float64Array(2))).toThrow(/dim 3/);
  });
});
