// batchNormForward / batchNormBackward against the formulas evaluated in double precision:
//   mean = sum x / R, variance = sum (x - mean)^2 / R, rstd = 1 / sqrt(variance + eps),
//   xhat = (x - mean) * rstd, dx = rstd * (dy - mean(dy) - xhat * mean(dy * xhat)),
// and dx also against central finite differences of L(x) = sum(w * xhat(x)) (float64 reference).
// Tolerance: scaled error max |native - reference| / max |reference| <= 1e-5 (float32 element-wise
// arithmetic, channel sums in double). Thread counts must not change a bit.
import { expect, it } from 'vitest';
import { firstDifference, floats, native, nativeDescribe, scaledError } from './native';

const describeNative = nativeDescribe('batch-norm tests');

/** True when the two arrays hold the same bits. */
const sameBits = (a: Float32Array, b: Float32Array) => firstDifference(a, b) === -1;

/** The forward pass in double precision. */
function reference(x: ArrayLike<number>, c: number, eps: number) {
  const rows = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c]! += x[i]! / rows;
  for (let i = 0; i < x.length; i++) variance[i % c]! += (x[i]! - mean[i % c]!) ** 2 / rows;
  const rstd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const xhat = Float64Array.from(x, (v, i) => (v - mean[i % c]!) * rstd[i % c]!);
  return { mean, variance, rstd, xhat };
}

function forward(x: Float32Array, c: number, eps: number, threads = 1) {
  const out = {
    xhat: new Float32Array(x.length),
    mean: new Float32Array(c),
    variance: new Float32Array(c),
    rstd: new Float32Array(c),
  };
  expect(native().batchNormForward(x, out.xhat, out.mean, out.variance, out.rstd, eps, threads)).toBe(true);
  return out;
}

function backward(dy: Float32Array, xhat: Float32Array, rstd: Float32Array, threads = 1): Float32Array {
  const dx = new Float32Array(dy.length);
  expect(native().batchNormBackward(dy, xhat, rstd, dx, threads)).toBe(true);
  return dx;
}

// [rows, C]: NHWC activations of the paper VGGs (rows = N*H*W) and odd sizes.
const SHAPES: [number, number][] = [
  [1, 3],
  [7, 5],
  [64, 16],
  [2 * 9 * 9, 12],
  [16 * 8 * 8, 32],
  [64 * 32 * 32, 16],
  [3, 100],
];

describeNative('batchNormForward', () => {
  it.each(SHAPES)('[%i rows, %i channels] matches the formula', (rows, c) => {
    const x = floats(rows * c, rows + c, -3, 5);
    const eps = 1e-3;
    const got = forward(x, c, eps);
    const want = reference(x, c, eps);
    expect(scaledError(got.mean, want.mean)).toBeLessThanOrEqual(1e-6);
    expect(scaledError(got.variance, want.variance)).toBeLessThanOrEqual(1e-5);
    expect(scaledError(got.rstd, want.rstd)).toBeLessThanOrEqual(1e-5);
    expect(scaledError(got.xhat, want.xhat)).toBeLessThanOrEqual(1e-5);
  });

  it('a large offset does not cost the variance its precision (two passes, not E[x^2] - E[x]^2)', () => {
    const x = floats(4096 * 4, 3, 999, 1001); // variance ~1/3 around 1000
    const got = forward(x, 4, 1e-5);
    const want = reference(x, 4, 1e-5);
    expect(scaledError(got.variance, want.variance)).toBeLessThanOrEqual(1e-5);
  });

  it('gives the same bits for 1-4 threads', () => {
    const x = floats(64 * 32 * 32 * 16, 11, -2, 2);
    const one = forward(x, 16, 1e-3, 1);
    for (const t of [2, 3, 4]) {
      const other = forward(x, 16, 1e-3, t);
      for (const k of ['xhat', 'mean', 'variance', 'rstd'] as const)
        expect(sameBits(other[k], one[k]), k).toBe(true);
    }
  });

  it('rejects sizes that do not fit [rows, C]', () => {
    const f = new Float32Array(4);
    expect(() =>
      native().batchNormForward(new Float32Array(10), new Float32Array(10), f, f, f, 1e-3),
    ).toThrow(/batchNormForward: sizes x 10.*do not fit/);
    expect(() => native().batchNormForward(new Float32Array(8), new Float32Array(4), f, f, f, 1e-3)).toThrow(
      /do not fit/,
    );
    expect(() =>
      native().batchNormForward(new Float32Array(8), new Float32Array(8), f, f, f, 'x' as never),
    ).toThrow(/takes \(x, xhat, mean, variance, rstd/);
  });
});

describeNative('batchNormBackward', () => {
  it.each(SHAPES)('[%i rows, %i channels] matches the formula', (rows, c) => {
    const x = floats(rows * c, 7 * rows + c, -2, 3);
    const dy = floats(rows * c, 5 * rows + c, -1, 1);
    const { xhat, rstd } = forward(x, c, 1e-3);
    const got = backward(dy, xhat, rstd);
    const meanDy = new Float64Array(c);
    const meanDyXhat = new Float64Array(c);
    for (let i = 0; i < dy.length; i++) {
      meanDy[i % c]! += dy[i]! / rows;
      meanDyXhat[i % c]! += (dy[i]! * xhat[i]!) / rows;
    }
    const want = Float64Array.from(
      dy,
      (g, i) => rstd[i % c]! * (g - meanDy[i % c]! - xhat[i]! * meanDyXhat[i % c]!),
    );
    expect(scaledError(got, want)).toBeLessThanOrEqual(1e-5);
  });

  it('is the derivative of sum(w * xhat(x)) (central differences in double precision)', () => {
    const rows = 6;
    const c = 3;
    const eps = 1e-3;
    const x = floats(rows * c, 21, -2, 2);
    const w = floats(rows * c, 22, -1, 1);
    const loss = (v: ArrayLike<number>) => reference(v, c, eps).xhat.reduce((s, h, i) => s + h * w[i]!, 0);
    const numeric = Float64Array.from(x, (_, i) => {
      const h = 1e-5;
      const up = Float64Array.from(x);
      const down = Float64Array.from(x);
      up[i]! += h;
      down[i]! -= h;
      return (loss(up) - loss(down)) / (2 * h);
    });
    const { xhat, rstd } = forward(x, c, eps);
    expect(scaledError(backward(w, xhat, rstd), numeric)).toBeLessThanOrEqual(1e-4);
  });

  it('gives the same bits for 1-4 threads', () => {
    const n = 64 * 16 * 16 * 32;
    const { xhat, rstd } = forward(floats(n, 31, -2, 2), 32, 1e-3);
    const dy = floats(n, 32, -1, 1);
    const one = backward(dy, xhat, rstd, 1);
    for (const t of [2, 3, 4]) expect(sameBits(backward(dy, xhat, rstd, t), one)).toBe(true);
  });

  it('rejects sizes that do not fit', () => {
    const r = new Float32Array(4);
    expect(() =>
      native().batchNormBackward(new Float32Array(8), new Float32Array(8), r, new Float32Array(4)),
    ).toThrow(/batchNormBackward: sizes dy 8, xhat 8, rstd 4, dx 4 do not fit/);
  });
});

// Batch norm then ReLU in the same passes: the bits of batchNormForward + relu, and of reluGrad +
// batchNormBackward (the separate kernels, each checked against its formula above and in
// elementwise.test.ts), with threads 1-4; the backward pass recomputes xhat from x, mean and rstd.
describeNative('batchNormReluForward / batchNormReluBackward', () => {
  it.each(SHAPES)('[%i rows, %i channels]: the bits of the separate kernels', (rows, c) => {
    const n = rows * c;
    const x = floats(n, 3 * rows + c, -2, 3);
    const dy = floats(n, 11 * rows + c, -1, 1);
    const separate = forward(x, c, 1e-3);
    const relu = new Float32Array(n);
    native().relu(separate.xhat, relu);
    const masked = new Float32Array(n);
    native().reluGrad(dy, separate.xhat, masked);
    const dxSeparate = backward(masked, separate.xhat, separate.rstd);
    for (const threads of [1, 2, 3, 4]) {
      const y = new Float32Array(n).fill(Number.NaN);
      const [mean, variance, rstd] = [new Float32Array(c), new Float32Array(c), new Float32Array(c)];
      expect(native().batchNormReluForward(x, y, mean, variance, rstd, 1e-3, threads)).toBe(true);
      expect(sameBits(y, relu), `y, ${threads} threads`).toBe(true);
      expect(sameBits(mean, separate.mean) && sameBits(rstd, separate.rstd)).toBe(true);
      const dx = new Float32Array(n);
      expect(native().batchNormReluBackward(dy, x, mean, rstd, dx, threads)).toBe(true);
      expect(sameBits(dx, dxSeparate), `dx, ${threads} threads`).toBe(true);
    }
  });

  it('y is +0 where xhat <= 0 (no -0)', () => {
    const x = Float32Array.of(1, 2, 3, 4, 5, 6);
    const y = new Float32Array(6);
    const s = [new Float32Array(1), new Float32Array(1), new Float32Array(1)] as const;
    native().batchNormReluForward(x, y, ...s, 0);
    expect(Array.from(y).map((v) => Object.is(v, -0))).not.toContain(true);
    expect(y.slice(0, 3).every((v) => v === 0)).toBe(true);
    expect(y.slice(3).every((v) => v > 0)).toBe(true);
  });

  it('rejects sizes that do not fit, naming the function', () => {
    const r = new Float32Array(4);
    const a = new Float32Array(8);
    expect(() => native().batchNormReluForward(a, new Float32Array(4), r, r, r, 1e-3)).toThrow(
      /batchNormReluForward: sizes x 8, y 4, mean\/variance\/rstd 4\/4\/4 do not fit/,
    );
    expect(() => native().batchNormReluBackward(a, a, r, r, new Float32Array(4))).toThrow(
      /batchNormReluBackward: sizes dy 8, x 8, mean 4, rstd 4, dx 4 do not fit/,
    );
  });
});
