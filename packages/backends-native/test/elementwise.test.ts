// sumRows, broadcastRows, relu, reluGrad, maxPool and maxPoolGrad against plain-JS references.
// - sumRows: a double-precision sum; |native - reference| <= 1e-6 * (the sum of |x| over the column,
//   times |scale|), which for positive data is a relative error of 1e-6 per element (100000 rows
//   included: float32 running sums would be off by ~1e-3 there).
// - broadcastRows: one float32 operation per element, so exactly Math.fround(a op b) (double then
//   rounded to float32 is the correctly rounded float32 result for + - * /).
// - maxPoolGrad: the gradient of each window goes to the first element equal to the window's maximum
//   (NaN ignored; windows of only -Infinity / NaN / padding pass nothing), accumulated in double;
//   max |native - reference| / max |reference| <= 1e-6 (overlapping windows add dy in another order).
// Each takes an optional thread count (an integer >= 1): every count must give bit-identical results.
// When the addon is not built, every test here is skipped with the reason printed, unless
// BMP_REQUIRE_NATIVE=1 (then they fail).
import { describe, expect, it } from 'vitest';
import {
  expectTypeError,
  firstDifference,
  floats,
  nativeLoad as loaded,
  native,
  nativeDescribe,
  nativeRequired as REQUIRED,
  scaledError,
  seeded,
} from './native';

const describeNative = nativeDescribe('elementwise tests');

/** The optional trailing thread count must be an integer >= 1 (the kernels' own message). */
const BAD_THREADS: unknown[] = [0, -1, 1.5, Number.NaN, '2', null];

describe('loading', () => {
  it.runIf(REQUIRED)('BMP_REQUIRE_NATIVE=1: the addon is built and loads', () => {
    expect(loaded.kernels, loaded.reason).not.toBeNull();
  });
});

describeNative('sumRows', () => {
  /** The worst |native - reference| / (scale * sum |x|) over the columns, and the result. */
  function check(rows: number, cols: number, x: Float32Array, scale: number) {
    const out = new Float32Array(cols).fill(Number.NaN);
    expect(native().sumRows(x, out, scale)).toBe(true);
    let worst = 0;
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      let abs = 0;
      for (let r = 0; r < rows; r++) {
        sum += x[r * cols + c];
        abs += Math.abs(x[r * cols + c]);
      }
      const bound = Math.abs(scale) * abs;
      const err = Math.abs(out[c] - sum * scale);
      worst = Math.max(worst, bound === 0 ? err : err / bound);
    }
    return { worst, out };
  }

  it.each([
    [1, 1],
    [1, 7],
    [5, 1],
    [63, 3],
    [64, 3],
    [65, 3],
    [129, 16],
    [1000, 33],
    [4096, 64],
    [333, 17],
  ])('%i rows x %i cols, scales 1, 1/rows, -2.5', (rows, cols) => {
    const x = floats(rows * cols, rows * 31 + cols);
    for (const scale of [1, 1 / rows, -2.5])
      expect(check(rows, cols, x, scale).worst).toBeLessThanOrEqual(1e-6);
  });

  it('100000 rows: relative error <= 1e-6 per element against a double-precision sum', () => {
    const rows = 100_000;
    const cols = 4;
    const x = floats(rows * cols, 8, 0.5, 1.5); // positive: the sum sets the scale of every element
    for (const scale of [1, 1 / rows]) {
      const out = new Float32Array(cols);
      expect(native().sumRows(x, out, scale)).toBe(true);
      for (let c = 0; c < cols; c++) {
        let sum = 0;
        for (let r = 0; r < rows; r++) sum += x[r * cols + c];
        expect(Math.abs(out[c] - sum * scale) / Math.abs(sum * scale)).toBeLessThanOrEqual(1e-6);
      }
    }
    // Mixed signs too, against the sum of magnitudes.
    const mixed = floats(rows * 3, 9);
    expect(check(rows, 3, mixed, 1).worst).toBeLessThanOrEqual(1e-6);
  });

  it('exact small sums, scale 0, and a single row copies (times scale)', () => {
    const k = native();
    const out = new Float32Array(2);
    k.sumRows(Float32Array.from([1, 2, 3, 4, 5, 6]), out, 1);
    expect(Array.from(out)).toEqual([9, 12]);
    k.sumRows(Float32Array.from([1, 2, 3, 4, 5, 6]), out, 0);
    expect(Array.from(out)).toEqual([0, 0]);
    const row = floats(9, 3);
    const copy = new Float32Array(9);
    k.sumRows(row, copy, 1);
    expect(Array.from(copy)).toEqual(Array.from(row));
    const one = new Float32Array(1);
    k.sumRows(Float32Array.from([1, 2, 3, 4]), one, 0.25);
    expect(one[0]).toBe(2.5);
  });

  it('argument errors', () => {
    const k = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const x = new Float32Array(12);
    expectTypeError(
      () => k.sumRows(x, new Float32Array(5), 1),
      /sumRows: x has 12 elements, not a multiple of out's 5/,
    );
    expectTypeError(() => k.sumRows(x, new Float32Array(0), 1), /not a multiple of out's 0/);
    expectTypeError(
      () => k.sumRows(x, new Float32Array(3)),
      /sumRows takes \(x: Float32Array, out: Float32Array, scale: number/,
    );
    expectTypeError(() => k.sumRows(x, new Float32Array(3), '1'), /sumRows takes/);
    expectTypeError(() => k.sumRows(new Float64Array(12), new Float32Array(3), 1), /sumRows takes/);
    expectTypeError(() => k.sumRows(x, [0, 0, 0], 1), /sumRows takes/);
    for (const threads of BAD_THREADS) {
      expectTypeError(() => k.sumRows(x, new Float32Array(3), 1, threads), /threads\?: integer >= 1/);
    }
  });

  it('threads 1, 2, 3, 4 (and none) give bit-identical sums, above and below the parallel threshold', () => {
    for (const [rows, cols] of [
      [100_000, 4],
      [70_000, 1],
      [3_000, 33],
      [100, 16],
    ]) {
      const x = floats(rows * cols, rows + cols);
      const results = [undefined, 1, 2, 3, 4].map((threads) => {
        const out = new Float32Array(cols);
        const k = native();
        expect(threads == null ? k.sumRows(x, out, 0.5) : k.sumRows(x, out, 0.5, threads)).toBe(true);
        return out;
      });
      for (const r of results.slice(1)) expect(firstDifference(r, results[0]), `${rows} x ${cols}`).toBe(-1);
      expect(check(rows, cols, x, 0.5).worst).toBeLessThanOrEqual(1e-6);
    }
  });
});

describeNative('broadcastRows', () => {
  const OPS = [
    ['add', 0, (a: number, b: number) => a + b],
    ['sub', 1, (a: number, b: number) => a - b],
    ['mul', 2, (a: number, b: number) => a * b],
    ['div', 3, (a: number, b: number) => a / b],
  ] as const;
  const SHAPES: [number, number][] = [
    [7, 5],
    [3, 1], // cols = 1: a scalar operand
    [1, 12], // same size
    [1, 1],
    [100, 16],
    [33, 3],
    [17, 64],
  ];

  for (const [name, op, f] of OPS) {
    for (const vectorFirst of [false, true]) {
      it.each(SHAPES)(`${name}, vectorFirst ${vectorFirst}: %i rows x %i cols`, (rows, cols) => {
        const x = floats(rows * cols, rows * 7 + cols + op);
        const v = floats(cols, cols + 100 * op, 0.25, 2).map((a, i) => (i % 2 === 1 ? -a : a));
        if (x.length > 2) x[1] = 0; // v / 0 and 0 / v
        const out = new Float32Array(rows * cols).fill(Number.NaN);
        expect(native().broadcastRows(op, x, v, out, vectorFirst)).toBe(true);
        const want = Array.from(x, (a, i) =>
          Math.fround(vectorFirst ? f(v[i % cols], a) : f(a, v[i % cols])),
        );
        expect(Array.from(out)).toEqual(want);
      });
    }
  }

  it('special values: division by zero, infinities, NaN', () => {
    const x = Float32Array.from([0, 1, -1, Number.POSITIVE_INFINITY, Number.NaN, 0]);
    const v = Float32Array.from([0, 2]);
    const out = new Float32Array(6);
    native().broadcastRows(3, x, v, out, false);
    expect(Array.from(out)).toEqual([
      Number.NaN,
      0.5,
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.NaN,
      0,
    ]);
    native().broadcastRows(3, x, v, out, true);
    expect(Array.from(out)).toEqual([Number.NaN, 2, -0, 0, Number.NaN, Number.POSITIVE_INFINITY]);
  });

  it('an unknown op returns false and writes nothing', () => {
    const out = new Float32Array(4).fill(7);
    expect(native().broadcastRows(4 as never, new Float32Array(4), new Float32Array(2), out, false)).toBe(
      false,
    );
    expect(Array.from(out)).toEqual([7, 7, 7, 7]);
  });

  it('argument errors', () => {
    const k = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const x = new Float32Array(12);
    const v = new Float32Array(4);
    expectTypeError(
      () => k.broadcastRows(0, x, v, new Float32Array(11), false),
      /broadcastRows: sizes x 12, v 4, out 11/,
    );
    expectTypeError(
      () => k.broadcastRows(0, x, new Float32Array(5), new Float32Array(12), false),
      /sizes x 12, v 5, out 12/,
    );
    expectTypeError(
      () => k.broadcastRows(0, x, new Float32Array(0), new Float32Array(12), false),
      /sizes x 12, v 0/,
    );
    expectTypeError(
      () => k.broadcastRows('add', x, v, new Float32Array(12), false),
      /broadcastRows takes \(op, x: Float32Array/,
    );
    expectTypeError(
      () => k.broadcastRows(0, x, new Float64Array(4), new Float32Array(12), false),
      /broadcastRows takes/,
    );
    expectTypeError(() => k.broadcastRows(0, x, v, new Float32Array(12), 1), /broadcastRows takes/);
    expectTypeError(() => k.broadcastRows(0, x, v, new Float32Array(12)), /broadcastRows takes/);
    for (const threads of BAD_THREADS) {
      expectTypeError(
        () => k.broadcastRows(0, x, v, new Float32Array(12), false, threads),
        /threads\?: integer >= 1/,
      );
    }
  });

  it('threads 1, 2, 3, 4: the same exact results, split by rows, by columns (one row) and cols = 1', () => {
    for (const [rows, cols] of [
      [5_000, 16], // by rows
      [1, 70_001], // one row (same shapes): by columns
      [70_001, 1], // a scalar operand
      [3, 5], // below the parallel threshold
    ]) {
      const x = floats(rows * cols, rows + 3 * cols);
      const v = floats(cols, cols, 0.25, 2);
      for (const [op, f] of [
        [1, (a: number, b: number) => a - b],
        [3, (a: number, b: number) => a / b],
      ] as const) {
        for (const vectorFirst of [false, true]) {
          const want = Float32Array.from(x, (a, i) => (vectorFirst ? f(v[i % cols], a) : f(a, v[i % cols])));
          for (const threads of [1, 2, 3, 4]) {
            const out = new Float32Array(rows * cols).fill(Number.NaN);
            expect(native().broadcastRows(op, x, v, out, vectorFirst, threads)).toBe(true);
            expect(
              firstDifference(out, want),
              `${rows} x ${cols} op ${op} ${vectorFirst} threads ${threads}`,
            ).toBe(-1);
          }
        }
      }
    }
  });
});

describeNative('relu', () => {
  // tfjs-backend-wasm's Relu: x for x > 0, NaN for NaN, +0 otherwise (-0 and negative denormals included).
  const reference = (x: Float32Array) => Float32Array.from(x, (v) => (v > 0 ? v : Number.isNaN(v) ? v : 0));

  it('random and special values, threads 1-4 above and below the parallel threshold: bit-identical', () => {
    for (const n of [9, 300_001]) {
      const x = floats(n, n + 5);
      x.set([0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, -1e-45, -3, 2]);
      const want = reference(x);
      for (const threads of [undefined, 1, 2, 3, 4]) {
        const y = new Float32Array(n).fill(7);
        expect(native().relu(x, y, threads)).toBe(true);
        expect(firstDifference(y, want), `n ${n} threads ${threads}`).toBe(-1);
      }
    }
    const y = new Float32Array(2);
    native().relu(Float32Array.of(-0, -1e-45), y);
    expect(Object.is(y[0], 0) && Object.is(y[1], 0)).toBe(true); // +0, not -0
  });

  it('argument errors', () => {
    const k = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
    expectTypeError(() => k.relu(new Float32Array(3), new Float32Array(4)), /relu: sizes x 3, y 4 differ/);
    expectTypeError(() => k.relu(new Float32Array(3)), /relu takes \(x, y: Float32Array/);
    for (const threads of BAD_THREADS) {
      expectTypeError(
        () => k.relu(new Float32Array(3), new Float32Array(3), threads),
        /threads\?: integer >= 1/,
      );
    }
  });
});

describeNative('reluGrad', () => {
  // tfjs' Relu gradient, mul(dy, step(x)), computed here in doubles then rounded: x * 1, x * 0 and
  // x * NaN are exact, so the kernel must match bit for bit (signed zeros and NaN included).
  const reference = (dy: Float32Array, x: Float32Array) =>
    Float32Array.from(dy, (g, i) => g * (x[i]! > 0 ? 1 : Number.isNaN(x[i]!) ? Number.NaN : 0));

  it('random values, and threads 1, 2, 3, 4 above and below the parallel threshold: bit-identical', () => {
    for (const n of [7, 1000, 300_001]) {
      const dy = floats(n, n + 1);
      const x = floats(n, n + 2);
      const want = reference(dy, x);
      for (const threads of [undefined, 1, 2, 3, 4]) {
        const dx = new Float32Array(n).fill(Number.NaN);
        expect(native().reluGrad(dy, x, dx, threads)).toBe(true);
        expect(firstDifference(dx, want), `n ${n} threads ${threads}`).toBe(-1);
      }
    }
  });

  it('by hand: x at 0, -0, NaN, +-Infinity; dy negative, -0, Infinity and NaN', () => {
    const x = Float32Array.of(
      0,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e-30,
      -2,
      3,
      5,
    );
    const dy = Float32Array.of(2, 2, 2, -3, 4, -5, -1, -0, Number.POSITIVE_INFINITY);
    const dx = new Float32Array(x.length);
    native().reluGrad(dy, x, dx);
    expect(Array.from(dx)).toEqual([0, 0, Number.NaN, -3, 0, -5, -0, -0, Number.POSITIVE_INFINITY]);
    expect(Object.is(dx[6], -0)).toBe(true); // -1 * 0
    expect(firstDifference(dx, reference(dy, x))).toBe(-1);
    const nanDy = new Float32Array(2);
    native().reluGrad(Float32Array.of(Number.NaN, Number.NaN), Float32Array.of(1, -1), nanDy);
    expect(Array.from(nanDy)).toEqual([Number.NaN, Number.NaN]); // NaN * 0 is NaN, as in mul(dy, step(x))
  });

  it('argument errors', () => {
    const k = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const a = new Float32Array(6);
    expectTypeError(() => k.reluGrad(a, new Float32Array(5), a), /reluGrad: sizes dy 6, x 5, dx 6 differ/);
    expectTypeError(() => k.reluGrad(a, a, new Float32Array(7)), /sizes dy 6, x 6, dx 7 differ/);
    expectTypeError(() => k.reluGrad(a, a), /reluGrad takes \(dy, x, dx: Float32Array/);
    expectTypeError(() => k.reluGrad(a, new Float64Array(6), a), /reluGrad takes/);
    for (const threads of BAD_THREADS) {
      expectTypeError(() => k.reluGrad(a, a, a, threads), /threads\?: integer >= 1/);
    }
  });
});

describeNative('maxPool and maxPoolGrad', () => {
  interface Pool {
    n: number;
    h: number;
    w: number;
    c: number;
    fh: number;
    fw: number;
    sh: number;
    sw: number;
    top: number;
    left: number;
    oh: number;
    ow: number;
  }

  function pool(p: Omit<Pool, 'oh' | 'ow'>, bottom: number, right: number): Pool {
    return {
      ...p,
      oh: Math.floor((p.h + p.top + bottom - p.fh) / p.sh) + 1,
      ow: Math.floor((p.w + p.left + right - p.fw) / p.sw) + 1,
    };
  }

  const geometry = (p: Pool) =>
    Int32Array.from([p.n, p.h, p.w, p.c, p.oh, p.ow, p.fh, p.fw, p.sh, p.sw, p.top, p.left]);

  /** Collects each window's values, takes their maximum, and gives dy to the first element equal to it. */
  function reference(p: Pool, x: Float32Array, dy: Float32Array): Float64Array {
    const dx = new Float64Array(x.length);
    for (let n = 0; n < p.n; n++)
      for (let oy = 0; oy < p.oh; oy++)
        for (let ox = 0; ox < p.ow; ox++)
          for (let c = 0; c < p.c; c++) {
            const window: number[] = [];
            for (let i = 0; i < p.fh; i++)
              for (let j = 0; j < p.fw; j++) {
                const y = oy * p.sh - p.top + i;
                const xx = ox * p.sw - p.left + j;
                if (y >= 0 && y < p.h && xx >= 0 && xx < p.w)
                  window.push(((n * p.h + y) * p.w + xx) * p.c + c);
              }
            const values = window.map((i) => x[i]).filter((v) => !Number.isNaN(v));
            const max = Math.max(...values);
            if (values.length === 0 || max === Number.NEGATIVE_INFINITY) continue;
            const at = window.find((i) => x[i] === max)!;
            dx[at] += dy[((n * p.oh + oy) * p.ow + ox) * p.c + c];
          }
    return dx;
  }

  /** Each window's largest non-NaN value, -Infinity when there is none. */
  function referenceMax(p: Pool, x: Float32Array): Float32Array {
    const out = new Float32Array(p.n * p.oh * p.ow * p.c);
    for (let n = 0; n < p.n; n++)
      for (let oy = 0; oy < p.oh; oy++)
        for (let ox = 0; ox < p.ow; ox++)
          for (let c = 0; c < p.c; c++) {
            let max = Number.NEGATIVE_INFINITY;
            for (let i = 0; i < p.fh; i++)
              for (let j = 0; j < p.fw; j++) {
                const y = oy * p.sh - p.top + i;
                const xx = ox * p.sw - p.left + j;
                if (y >= 0 && y < p.h && xx >= 0 && xx < p.w) {
                  const v = x[((n * p.h + y) * p.w + xx) * p.c + c]!;
                  if (!Number.isNaN(v)) max = Math.max(max, v);
                }
              }
            out[((n * p.oh + oy) * p.ow + ox) * p.c + c] = max;
          }
    return out;
  }

  function runPool(p: Pool, x: Float32Array, dy: Float32Array): Float32Array {
    const dx = new Float32Array(x.length).fill(Number.NaN); // every element must be written
    expect(native().maxPoolGrad(x, dy, dx, geometry(p))).toBe(true);
    return dx;
  }

  function randomPools(count: number, seed: number): Pool[] {
    const r = seeded(seed);
    const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    const out: Pool[] = [];
    while (out.length < count) {
      const fh = int(1, 3);
      const fw = int(1, 3);
      const p = pool(
        {
          n: int(1, 3),
          h: int(1, 9),
          w: int(1, 9),
          c: int(1, 9),
          fh,
          fw,
          sh: int(1, 3),
          sw: int(1, 3),
          top: int(0, fh - 1),
          left: int(0, fw - 1),
        },
        int(0, fh - 1),
        int(0, fw - 1),
      );
      if (p.oh >= 1 && p.ow >= 1) out.push(p);
    }
    return out;
  }

  const CASES: Pool[] = [
    pool({ n: 8, h: 32, w: 32, c: 16, fh: 2, fw: 2, sh: 2, sw: 2, top: 0, left: 0 }, 0, 0), // paper VGG's pools
    pool({ n: 2, h: 5, w: 7, c: 3, fh: 2, fw: 2, sh: 2, sw: 2, top: 0, left: 0 }, 0, 0), // last row/col unused
    pool({ n: 2, h: 6, w: 6, c: 4, fh: 3, fw: 3, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // overlapping
    pool({ n: 1, h: 7, w: 5, c: 3, fh: 3, fw: 2, sh: 2, sw: 3, top: 1, left: 1 }, 2, 1),
    pool({ n: 1, h: 4, w: 4, c: 2, fh: 2, fw: 2, sh: 1, sw: 1, top: 2, left: 0 }, 2, 0), // padding-only windows
    ...randomPools(40, 3),
  ];
  const label = (p: Pool) =>
    `n ${p.n} in ${p.h}x${p.w}x${p.c} filter ${p.fh}x${p.fw} stride ${p.sh},${p.sw} pad ${p.top},${p.left} out ${p.oh}x${p.ow}`;

  it.each(CASES.map((p, i) => [label(p), p, i] as const))('%s', (_, p, i) => {
    const size = p.n * p.h * p.w * p.c;
    const r = seeded(500 + i);
    const dy = floats(p.n * p.oh * p.ow * p.c, 900 + i);
    const inputs = {
      ties: Float32Array.from({ length: size }, () => Math.floor(r() * 5) - 2),
      smooth: Float32Array.from({ length: size }, () => 2 * r() - 1),
      negative: Float32Array.from({ length: size }, () => -1 - Math.floor(r() * 3)),
      infinite: Float32Array.from({ length: size }, () => (r() < 0.6 ? Number.NEGATIVE_INFINITY : r() - 2)),
      nan: Float32Array.from({ length: size }, () => (r() < 0.3 ? Number.NaN : Math.floor(r() * 3))),
    };
    for (const [kind, x] of Object.entries(inputs)) {
      const pooled = new Float32Array(dy.length).fill(Number.NaN);
      expect(native().maxPool(x, pooled, geometry(p), 1 + (i % 3))).toBe(true);
      expect(Array.from(pooled), `${kind}: maxPool`).toEqual(Array.from(referenceMax(p, x)));
      const got = runPool(p, x, dy);
      const want = reference(p, x, dy);
      expect(scaledError(got, want), kind).toBeLessThanOrEqual(1e-6);
      // Elements that receive nothing are exactly 0.
      for (let k = 0; k < size; k++)
        if (want[k] === 0 && got[k] !== 0) expect(got[k], `${kind} [${k}]`).toBe(0);
    }
  });

  it('by hand: first maximum on ties, all-negative and -Infinity windows, NaN skipped, padding-only windows', () => {
    const p = pool({ n: 1, h: 2, w: 2, c: 1, fh: 2, fw: 2, sh: 2, sw: 2, top: 0, left: 0 }, 0, 0);
    const five = Float32Array.from([5]);
    expect(Array.from(runPool(p, Float32Array.from([-3, -1, -2, -4]), five))).toEqual([0, 5, 0, 0]);
    expect(Array.from(runPool(p, Float32Array.from([2, 2, 2, 2]), five))).toEqual([5, 0, 0, 0]);
    expect(Array.from(runPool(p, Float32Array.from([1, 3, 3, 1]), five))).toEqual([0, 5, 0, 0]);
    const inf = Number.NEGATIVE_INFINITY;
    expect(Array.from(runPool(p, Float32Array.from([inf, inf, inf, inf]), five))).toEqual([0, 0, 0, 0]);
    expect(Array.from(runPool(p, Float32Array.from([inf, inf, -1e30, inf]), five))).toEqual([0, 0, 5, 0]);
    expect(Array.from(runPool(p, Float32Array.from([Number.NaN, 1, 2, Number.NaN]), five))).toEqual([
      0, 0, 5, 0,
    ]);
    expect(Array.from(runPool(p, Float32Array.from([Number.NaN, inf, Number.NaN, inf]), five))).toEqual([
      0, 0, 0, 0,
    ]);
    // 1x1 input, 1x1 filter, one row of padding on top: the first window is all padding.
    const padded = pool({ n: 1, h: 1, w: 1, c: 1, fh: 1, fw: 1, sh: 1, sw: 1, top: 1, left: 0 }, 0, 0);
    expect(padded.oh).toBe(2);
    expect(Array.from(runPool(padded, Float32Array.from([7]), Float32Array.from([3, 4])))).toEqual([4]);
    // Overlapping windows add: a 3x1 column with a 2x1 filter, stride 1: the middle maximum takes both.
    const overlap = pool({ n: 1, h: 3, w: 1, c: 1, fh: 2, fw: 1, sh: 1, sw: 1, top: 0, left: 0 }, 0, 0);
    expect(Array.from(runPool(overlap, Float32Array.from([0, 9, 1]), Float32Array.from([2, 3])))).toEqual([
      0, 5, 0,
    ]);
  });

  it('threads 1, 2, 3, 4 give bit-identical results (images split over the threads)', () => {
    for (const p of [
      CASES[0], // 8 x 32 x 32 x 16: above the parallel threshold
      pool({ n: 3, h: 61, w: 59, c: 7, fh: 3, fw: 3, sh: 2, sw: 2, top: 1, left: 1 }, 1, 1), // 3 images, 4 threads
      pool({ n: 5, h: 40, w: 40, c: 9, fh: 3, fw: 3, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // overlapping
    ]) {
      const size = p.n * p.h * p.w * p.c;
      const r = seeded(size);
      const x = Float32Array.from({ length: size }, () => Math.floor(r() * 5) - 2);
      const dy = floats(p.n * p.oh * p.ow * p.c, 17);
      const results = [1, 2, 3, 4].map((threads) => {
        const dx = new Float32Array(size).fill(Number.NaN);
        expect(native().maxPoolGrad(x, dy, dx, geometry(p), threads)).toBe(true);
        return dx;
      });
      for (const d of results.slice(1)) expect(firstDifference(d, results[0]), label(p)).toBe(-1);
      expect(scaledError(results[0], reference(p, x, dy)), label(p)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('argument errors', () => {
    const k = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const p = CASES[1];
    const g = geometry(p);
    const size = p.n * p.h * p.w * p.c;
    const x = new Float32Array(size);
    const dy = new Float32Array(p.n * p.oh * p.ow * p.c);
    const dx = new Float32Array(size);
    expectTypeError(
      () => k.maxPoolGrad(x, dy, dx),
      /maxPoolGrad takes \(x, dy, dx: Float32Array, geometry: Int32Array\(12\)/,
    );
    expectTypeError(() => k.maxPoolGrad(x, Array.from(dy), dx, g), /maxPoolGrad takes/);
    expectTypeError(() => k.maxPoolGrad(x, dy, new Float64Array(size), g), /maxPoolGrad takes/);
    expectTypeError(
      () => k.maxPoolGrad(x, dy, dx, Int32Array.from([...g, 0])),
      /geometry must be an Int32Array of 12 values/,
    );
    expectTypeError(
      () => k.maxPoolGrad(x, dy, dx, Float32Array.from(g)),
      /geometry must be an Int32Array of 12 values/,
    );
    for (const index of [0, 4, 6, 9]) {
      const bad = g.slice();
      bad[index] = 0;
      expectTypeError(
        () => k.maxPoolGrad(x, dy, dx, bad),
        new RegExp(`geometry value ${index} must be >= 1`),
      );
    }
    expectTypeError(
      () => k.maxPoolGrad(x.subarray(1), dy, dx, g),
      new RegExp(`maxPoolGrad: sizes x ${size - 1}, dy ${dy.length}, dx ${size} do not match the geometry`),
    );
    expectTypeError(() => k.maxPoolGrad(x, dy.subarray(1), dx, g), /do not match the geometry/);
    expectTypeError(() => k.maxPoolGrad(x, dy, dx.subarray(1), g), /do not match the geometry/);
    for (const threads of BAD_THREADS) {
      expectTypeError(() => k.maxPoolGrad(x, dy, dx, g, threads), /threads\?: integer >= 1/);
    }
    // maxPool: the same geometry checks.
    expectTypeError(
      () => k.maxPool(x, dy),
      /maxPool takes \(x, out: Float32Array, geometry: Int32Array\(12\)/,
    );
    expectTypeError(
      () => k.maxPool(x, dy, Int32Array.from([...g, 0])),
      /maxPool geometry must be an Int32Array/,
    );
    const bad = g.slice();
    bad[7] = 0;
    expectTypeError(() => k.maxPool(x, dy, bad), /maxPool geometry value 7 must be >= 1/);
    expectTypeError(
      () => k.maxPool(x, dy.subarray(1), g),
      new RegExp(`maxPool: sizes x ${size}, out ${dy.length - 1} do not match the geometry`),
    );
    for (const threads of BAD_THREADS) {
      expectTypeError(() => k.maxPool(x, dy, g, threads), /threads\?: integer >= 1/);
    }
  });
});
