// momentumStep against a plain-JS reference that rounds every operation to float32 (Math.fround), as
// @bmp/optimizer's composed tfjs ops do: the kernel must give the same bits (a fused multiply-add
// anywhere would round once instead of twice and show up here).
// When the addon is not built, every test here is skipped with the reason printed, unless
// BMP_REQUIRE_NATIVE=1 (then they fail).
import { expect, it } from 'vitest';
import { expectTypeError, firstDifference, floats, native, nativeDescribe } from './native';

const describeNative = nativeDescribe('sgd tests');
const f = Math.fround;

function reference(
  w: Float32Array,
  g: Float32Array,
  u: Float32Array,
  [wd, decay, rate, mu]: Float32Array,
  weightDecay: boolean,
  nesterov: boolean,
) {
  const wOut = new Float32Array(w.length);
  const uOut = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const grad = weightDecay ? f(g[i]! + f(wd! * w[i]!)) : g[i]!;
    const next = f(f(decay! * u[i]!) + grad);
    const step = nesterov ? f(grad + f(mu! * next)) : next;
    wOut[i] = f(w[i]! - f(rate! * step));
    uOut[i] = next;
  }
  return { wOut, uOut };
}

describeNative('momentumStep', () => {
  // Scalars with many significant bits, so that products are inexact and a fused multiply-add differs.
  const scalars = Float32Array.of(0.0051234, 0.9012345, 0.1234567, 0.9012345);

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])(
    'weightDecay %s, nesterov %s: bit-identical to float32 operations one at a time, threads 1-4',
    (wdOn, nesterov) => {
      for (const n of [5, 100_003]) {
        const w = floats(n, n + 1);
        const g = floats(n, n + 2, -3, 3);
        const u = floats(n, n + 3, -2, 2);
        const want = reference(w, g, u, scalars, wdOn, nesterov);
        for (const threads of [undefined, 1, 2, 3, 4]) {
          const wOut = new Float32Array(n).fill(Number.NaN);
          const uOut = new Float32Array(n).fill(Number.NaN);
          expect(native().momentumStep(w, g, u, wOut, uOut, scalars, wdOn, nesterov, threads)).toBe(true);
          expect(firstDifference(wOut, want.wOut), `w n ${n} threads ${threads}`).toBe(-1);
          expect(firstDifference(uOut, want.uOut), `u n ${n} threads ${threads}`).toBe(-1);
        }
      }
    },
  );

  it('a fused multiply-add would differ on these inputs (the test above can fail)', () => {
    // decay * u + g rounded once vs twice: pick values where the two roundings disagree.
    const r = floats(1000, 9);
    let differs = 0;
    for (let i = 0; i < r.length; i++) {
      const exact = scalars[1]! * r[i]! + 0.3; // double: close to the single-rounding (FMA) result
      if (f(exact) !== f(f(scalars[1]! * r[i]!) + 0.3)) differs++;
    }
    expect(differs).toBeGreaterThan(10);
  });

  it('without weight decay, w * wd is not computed (an infinite weight does not turn g into NaN)', () => {
    const w = Float32Array.of(Number.POSITIVE_INFINITY, 1);
    const g = Float32Array.of(0.5, 0.5);
    const u = Float32Array.of(0, 0);
    const wOut = new Float32Array(2);
    const uOut = new Float32Array(2);
    native().momentumStep(w, g, u, wOut, uOut, Float32Array.of(0, 0.9, 0.1, 0.9), false, false);
    expect(Array.from(uOut)).toEqual([0.5, 0.5]);
    expect(wOut[0]).toBe(Number.POSITIVE_INFINITY);
  });

  it('argument errors', () => {
    const k = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const a = new Float32Array(4);
    const s = new Float32Array(4);
    expectTypeError(
      () => k.momentumStep(a, a, a, a, new Float32Array(3), s, true, false),
      /momentumStep: sizes w 4, g 4, u 4, wOut 4, uOut 3 differ/,
    );
    expectTypeError(
      () => k.momentumStep(a, a, a, a, a, new Float32Array(3), true, false),
      /scalars must hold 4 values \(wd, decay, rate, mu\), got 3/,
    );
    expectTypeError(
      () => k.momentumStep(a, a, a, a, a, s, 1, false),
      /momentumStep takes \(w, g, u, wOut, uOut/,
    );
    expectTypeError(() => k.momentumStep(a, a, a, a, a, s, true), /momentumStep takes/);
    expectTypeError(() => k.momentumStep(a, a, a, a, a, s, true, false, 0), /threads\?: integer >= 1/);
  });
});
