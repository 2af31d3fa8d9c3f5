// The native convolution kernels (convForward, convFilterGrad, convInputGrad) against plain-JS
// references: naive loops over every tap, accumulated in double precision, so they share nothing with
// the addon's packing, tiling, vector widths or threads.
// Tolerance: max |native - reference| / max |reference| <= 1e-5 (float32 sums of at most a few thousand
// products in another order; the largest value sets the scale, since elementwise ratios are meaningless
// near zero). Thread counts must not change any bit of the result.
// When the addon is not built, every test here is skipped with the reason printed, unless
// BMP_REQUIRE_NATIVE=1 (then they fail, so CI cannot skip silently).
import { describe, expect, it } from 'vitest';
import { convGeometry, loadNativeKernels } from '../src';
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

const TOLERANCE = 1e-5;
const describeNative = nativeDescribe('conv tests');

interface Geo {
  n: number;
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  co: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

/** A geometry with the output size implied by the padding (`bottom`, `right`: the back padding). */
function geo(g: Omit<Geo, 'oh' | 'ow'>, bottom: number, right: number): Geo {
  const oh = Math.floor((g.h + g.top + bottom - g.kh) / g.sh) + 1;
  const ow = Math.floor((g.w + g.left + right - g.kw) / g.sw) + 1;
  return { ...g, oh, ow };
}

function pack(g: Geo): Int32Array {
  return convGeometry({
    batch: g.n,
    inHeight: g.h,
    inWidth: g.w,
    inChannels: g.ci,
    filterHeight: g.kh,
    filterWidth: g.kw,
    outChannels: g.co,
    outHeight: g.oh,
    outWidth: g.ow,
    strideHeight: g.sh,
    strideWidth: g.sw,
    padTop: g.top,
    padLeft: g.left,
  });
}

const sizes = (g: Geo) => ({
  x: g.n * g.h * g.w * g.ci,
  w: g.kh * g.kw * g.ci * g.co,
  y: g.n * g.oh * g.ow * g.co,
});

type Which = 'forward' | 'filter' | 'input';

/**
 * The reference: for every output pixel and every filter tap that lands inside the image,
 * y += x * w, dw += x * dy, dx += dy * w, in double precision.
 */
function reference(which: Which, g: Geo, x: Float32Array, w: Float32Array, dy: Float32Array): Float64Array {
  const s = sizes(g);
  const out = new Float64Array(which === 'forward' ? s.y : which === 'filter' ? s.w : s.x);
  for (let n = 0; n < g.n; n++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++) {
        const yBase = ((n * g.oh + oy) * g.ow + ox) * g.co;
        for (let i = 0; i < g.kh; i++) {
          const iy = oy * g.sh - g.top + i;
          if (iy < 0 || iy >= g.h) continue;
          for (let j = 0; j < g.kw; j++) {
            const ix = ox * g.sw - g.left + j;
            if (ix < 0 || ix >= g.w) continue;
            const xBase = ((n * g.h + iy) * g.w + ix) * g.ci;
            const wBase = (i * g.kw + j) * g.ci * g.co;
            for (let c = 0; c < g.ci; c++) {
              const wRow = wBase + c * g.co;
              if (which === 'forward') {
                const xv = x[xBase + c];
                for (let o = 0; o < g.co; o++) out[yBase + o] += xv * w[wRow + o];
              } else if (which === 'filter') {
                const xv = x[xBase + c];
                for (let o = 0; o < g.co; o++) out[wRow + o] += xv * dy[yBase + o];
              } else {
                let acc = 0;
                for (let o = 0; o < g.co; o++) acc += dy[yBase + o] * w[wRow + o];
                out[xBase + c] += acc;
              }
            }
          }
        }
      }
  return out;
}

/** Runs one kernel on fresh random data (output pre-filled with NaN, so unwritten values show). */
function run(which: Which, g: Geo, seed: number, threads: number) {
  const s = sizes(g);
  const x = floats(s.x, seed);
  const w = floats(s.w, seed + 1);
  const dy = floats(s.y, seed + 2);
  const k = native();
  let out: Float32Array;
  let ok: boolean;
  if (which === 'forward') {
    out = new Float32Array(s.y).fill(Number.NaN);
    ok = k.convForward(x, w, out, pack(g), threads);
  } else if (which === 'filter') {
    out = new Float32Array(s.w).fill(Number.NaN);
    ok = k.convFilterGrad(x, dy, out, pack(g), threads);
  } else {
    out = new Float32Array(s.x).fill(Number.NaN);
    ok = k.convInputGrad(dy, w, out, pack(g), threads);
  }
  return { ok, out, want: () => reference(which, g, x, w, dy) };
}

/** Runs `fn` with BMP_NATIVE_CONV set to `value` (the addon reads it on every call). */
function withConvOption<T>(value: string, fn: () => T): T {
  process.env.BMP_NATIVE_CONV = value;
  try {
    return fn();
  } finally {
    delete process.env.BMP_NATIVE_CONV;
  }
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** [label, kind, geometry, index] for the forward pass, and the input gradient where it is covered. */
function forwardAndInputCases(geos: Geo[], kinds: Which[] = ['forward', 'input']) {
  return geos.flatMap((g, i) =>
    kinds
      .filter((k) => k !== 'input' || (g.sh === 1 && g.sw === 1 && g.ci % 4 === 0))
      .map((k) => [`${k}: ${label(g)}`, k, g, i] as const),
  );
}

const OUT_CHANNELS = [4, 8, 12, 16, 20, 32, 48, 128];

/**
 * Random geometries: batch 1-3, spatial 1-13 (odd sizes included), kernels 1-5 (not always square),
 * strides 1-3 (or 1 with `stride1`), explicit front and back padding 0..kernel (asymmetric), the out
 * channels cycling through OUT_CHANNELS; sizes capped so that the JS reference stays fast.
 */
function randomGeos(count: number, seed: number, opts: { stride1?: boolean; inChannels: number[] }): Geo[] {
  const r = seeded(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const out: Geo[] = [];
  while (out.length < count) {
    const kh = int(1, 5);
    const kw = r() < 0.6 ? kh : int(1, 5);
    const co = OUT_CHANNELS[out.length % OUT_CHANNELS.length];
    const g = geo(
      {
        n: int(1, 3),
        h: int(1, 13),
        w: int(1, 13),
        ci: opts.inChannels[int(0, opts.inChannels.length - 1)],
        kh,
        kw,
        co,
        sh: opts.stride1 ? 1 : int(1, 3),
        sw: opts.stride1 ? 1 : int(1, 3),
        top: int(0, kh),
        left: int(0, kw),
      },
      int(0, kh),
      int(0, kw),
    );
    if (g.oh < 1 || g.ow < 1) continue;
    if (g.n * g.oh * g.ow * g.kh * g.kw * g.ci * g.co > 1.5e6) continue;
    out.push(g);
  }
  return out;
}

const label = (g: Geo) =>
  `n ${g.n} in ${g.h}x${g.w}x${g.ci} k ${g.kh}x${g.kw} co ${g.co} out ${g.oh}x${g.ow} ` +
  `stride ${g.sh},${g.sw} pad ${g.top},${g.left}`;

// The models' own shapes (paper VGG 3x3 'same', 1x1, strided stems) and corner cases.
const FIXED: Geo[] = [
  geo({ n: 2, h: 8, w: 8, ci: 16, kh: 3, kw: 3, co: 32, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1),
  geo({ n: 1, h: 4, w: 4, ci: 64, kh: 3, kw: 3, co: 128, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1),
  geo({ n: 3, h: 5, w: 7, ci: 8, kh: 1, kw: 1, co: 8, sh: 1, sw: 1, top: 0, left: 0 }, 0, 0),
  geo({ n: 2, h: 11, w: 9, ci: 3, kh: 5, kw: 5, co: 16, sh: 3, sw: 2, top: 2, left: 1 }, 2, 0),
  geo({ n: 1, h: 7, w: 7, ci: 4, kh: 7, kw: 7, co: 4, sh: 1, sw: 1, top: 0, left: 0 }, 0, 0),
  geo({ n: 1, h: 1, w: 1, ci: 4, kh: 3, kw: 3, co: 20, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1),
  geo({ n: 2, h: 6, w: 5, ci: 12, kh: 2, kw: 3, co: 48, sh: 2, sw: 3, top: 0, left: 2 }, 1, 2),
];

const FORWARD_CASES = [...FIXED, ...randomGeos(48, 1, { inChannels: [1, 2, 3, 4, 5, 7, 8, 16] })];
const INPUT_CASES = [
  ...FIXED.filter((g) => g.sh === 1 && g.sw === 1 && g.ci % 4 === 0),
  ...randomGeos(40, 2, { stride1: true, inChannels: [4, 8, 12, 16] }),
];

describe('loading', () => {
  it.runIf(REQUIRED)('BMP_REQUIRE_NATIVE=1: the addon is built and loads', () => {
    expect(loaded.kernels, loaded.reason).not.toBeNull();
  });

  it('the result names the addon path and a reason', () => {
    if (loaded.kernels != null)
      expect(loaded.path).toMatch(/bmp_backends_native\.(baseline|avx2|avx512)\.node$/);
    expect(loaded.reason.length).toBeGreaterThan(0);
    expect(loadNativeKernels()).toBe(loaded); // loaded once
  });

  describeNative('with the addon', () => {
    it('info(): the instruction set and the float lanes', () => {
      const { isa, lanes } = native().info();
      expect(typeof isa).toBe('string');
      expect(isa.length).toBeGreaterThan(0);
      expect([4, 8, 16]).toContain(lanes);
      expect(loaded.reason).toContain(isa);
    });
  });
});

describe('convGeometry', () => {
  it('packs the 13 values in order', () => {
    const g = FIXED[3];
    expect(Array.from(pack(g))).toEqual([
      g.n,
      g.h,
      g.w,
      g.ci,
      g.kh,
      g.kw,
      g.co,
      g.oh,
      g.ow,
      g.sh,
      g.sw,
      g.top,
      g.left,
    ]);
  });

  it('rejects sizes below 1 and non-integers; pads may be any integer', () => {
    const g = FIXED[0];
    expect(() => pack({ ...g, n: 0 })).toThrow(/@bmp\/backends-native: convolution geometry value 0 is 0/);
    expect(() => pack({ ...g, sw: 1.5 })).toThrow(/value 10 is 1.5 \(expected an integer >= 1\)/);
    expect(() => pack({ ...g, top: 0.5 })).toThrow(/value 11 is 0.5 \(expected an integer\)/);
    expect(() => pack({ ...g, left: Number.NaN })).toThrow(/value 12 is NaN/);
    expect(Array.from(pack({ ...g, top: -1 })).slice(11)).toEqual([-1, 1]);
  });
});

describeNative('convForward', () => {
  it.each(FORWARD_CASES.map((g, i) => [label(g), g, i] as const))('%s', (_, g, i) => {
    const r = run('forward', g, 1000 + 7 * i, 1 + (i % 4));
    expect(r.ok).toBe(true);
    expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
  });
});

describeNative('convFilterGrad', () => {
  it.each(FORWARD_CASES.map((g, i) => [label(g), g, i] as const))('%s', (_, g, i) => {
    const r = run('filter', g, 2000 + 7 * i, 1 + ((i + 1) % 4));
    expect(r.ok).toBe(true);
    expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
  });

  it('many pixels (19 panels of 256), 3 threads', () => {
    const g = geo({ n: 3, h: 41, w: 39, ci: 8, kh: 3, kw: 3, co: 32, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1);
    const r = run('filter', g, 77, 3);
    expect(r.ok).toBe(true);
    expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
  });
});

// Output rows of 8 or more pixels: the direct kernels (the forward pass where the row is a multiple of
// its 8- or 16-pixel tile, the filter gradient always), which read a zero-padded copy of x in place. They
// add the same products in the same order as the packed kernels, which BMP_NATIVE_CONV=packed forces:
// every bit must agree, besides the reference check.
const DIRECT_CASES: Geo[] = [
  geo({ n: 2, h: 16, w: 16, ci: 16, kh: 3, kw: 3, co: 16, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // paper VGG
  geo({ n: 1, h: 32, w: 32, ci: 3, kh: 3, kw: 3, co: 16, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // first layer
  geo({ n: 2, h: 8, w: 8, ci: 32, kh: 3, kw: 3, co: 64, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1),
  geo({ n: 1, h: 6, w: 24, ci: 5, kh: 5, kw: 3, co: 12, sh: 1, sw: 1, top: 2, left: 0 }, 0, 2), // rows of 24
  geo({ n: 2, h: 9, w: 33, ci: 4, kh: 3, kw: 2, co: 20, sh: 2, sw: 2, top: 1, left: 1 }, 2, 0), // stride 2
  geo({ n: 1, h: 5, w: 50, ci: 8, kh: 1, kw: 3, co: 8, sh: 3, sw: 3, top: 0, left: 2 }, 0, 1), // stride 3
  geo({ n: 3, h: 4, w: 11, ci: 7, kh: 2, kw: 4, co: 4, sh: 1, sw: 1, top: 0, left: 3 }, 1, 3), // rows of 11
  geo({ n: 1, h: 3, w: 16, ci: 12, kh: 3, kw: 3, co: 48, sh: 1, sw: 1, top: 0, left: 0 }, 0, 0), // no padding
  geo({ n: 2, h: 2, w: 8, ci: 4, kh: 3, kw: 3, co: 32, sh: 1, sw: 1, top: 3, left: 1 }, 3, 1), // padding-only rows
];

describeNative('direct kernels (output rows of 8+ pixels)', () => {
  const cases = forwardAndInputCases(DIRECT_CASES, ['forward', 'filter', 'input']);

  it.each(cases)('%s: the reference, and the packed kernels bit for bit', (_, which, g, i) => {
    const r = run(which, g, 5000 + 7 * i, 1 + (i % 3));
    expect(r.ok).toBe(true);
    expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
    const packed = withConvOption('packed', () => run(which, g, 5000 + 7 * i, 1));
    expect(packed.ok).toBe(true);
    expect(bits(r.out)).toEqual(bits(packed.out));
  });

  it('a non-finite input value stays in its own outputs (rows computed past the tile are dropped)', () => {
    const g = DIRECT_CASES[6]!; // rows of 11: tiles overrun the row
    const s = sizes(g);
    const x = floats(s.x, 9);
    const dy = floats(s.y, 10);
    x[5] = Number.POSITIVE_INFINITY;
    const dw = new Float32Array(s.w);
    const want = reference('filter', g, x, floats(s.w, 11), dy);
    expect(native().convFilterGrad(x, dy, dw, pack(g), 2)).toBe(true);
    const finite = (a: ArrayLike<number>) => Array.from(a, (v) => Number.isFinite(v));
    expect(finite(dw)).toEqual(finite(want));
    expect(finite(dw)).toContain(false); // the infinite value reached some of dw
  });
});

// Depth above 1536: the forward pass (and the input gradient, which runs it) goes through the depth in
// blocks for groups of tiles, continuing each sum from its stored float32 value, so the bits must be those
// of one unbroken sum (BMP_NATIVE_CONV=unblocked), on both the direct and the packed path.
const WIDE_CASES: Geo[] = [
  geo({ n: 2, h: 8, w: 8, ci: 192, kh: 3, kw: 3, co: 32, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // direct
  geo({ n: 3, h: 4, w: 4, ci: 256, kh: 3, kw: 3, co: 48, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // packed
  geo({ n: 1, h: 3, w: 5, ci: 1700, kh: 1, kw: 1, co: 16, sh: 1, sw: 1, top: 0, left: 0 }, 0, 0), // 1x1, odd depth
  geo({ n: 2, h: 9, w: 7, ci: 200, kh: 3, kw: 2, co: 20, sh: 2, sw: 1, top: 1, left: 0 }, 1, 1), // strided, packed
];

describeNative('depth blocking (depth > 1536)', () => {
  const cases = forwardAndInputCases(WIDE_CASES);

  it.each(cases)('%s: the reference, and bit for bit unblocked, packed and both', (_, which, g, i) => {
    const seed = 7000 + 7 * i;
    const r = run(which, g, seed, 1 + (i % 3));
    expect(r.ok).toBe(true);
    expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
    for (const option of ['unblocked', 'packed', 'packed,unblocked']) {
      const other = withConvOption(option, () => run(which, g, seed, 2));
      expect(bits(other.out), option).toEqual(bits(r.out));
    }
  });
});

// Output rows under 8 pixels and batches of at least one tile (12 images; 6 with 16 vector registers):
// position tiles, which pack and sum only the filter taps inside the image (a skipped product is an exact
// zero). Also 128+ output channels, where the filter is read as contiguous panels. The bits must be those
// of the packed kernels (BMP_NATIVE_CONV=packed).
const POSITION_CASES: Geo[] = [
  geo({ n: 12, h: 2, w: 2, ci: 16, kh: 3, kw: 3, co: 32, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // paper VGG
  geo({ n: 13, h: 4, w: 4, ci: 8, kh: 3, kw: 3, co: 48, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // partial tile
  geo({ n: 16, h: 3, w: 5, ci: 6, kh: 3, kw: 2, co: 20, sh: 2, sw: 1, top: 1, left: 0 }, 1, 1), // strided
  geo({ n: 12, h: 1, w: 1, ci: 4, kh: 3, kw: 3, co: 16, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // centre tap only
  geo({ n: 14, h: 2, w: 2, ci: 4, kh: 3, kw: 3, co: 8, sh: 1, sw: 1, top: 3, left: 2 }, 3, 2), // padding-only windows
  geo({ n: 12, h: 4, w: 4, ci: 64, kh: 3, kw: 3, co: 128, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // panels
  geo({ n: 12, h: 2, w: 2, ci: 200, kh: 3, kw: 3, co: 16, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1), // depth 1800
];

describeNative('position tiles (small outputs) and filter panels (128+ channels)', () => {
  const cases = forwardAndInputCases(POSITION_CASES);

  it.each(cases)('%s: the reference, and the packed kernels bit for bit', (_, which, g, i) => {
    const seed = 8000 + 7 * i;
    const r = run(which, g, seed, 1 + (i % 3));
    expect(r.ok).toBe(true);
    expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
    expect(bits(withConvOption('packed', () => run(which, g, seed, 2)).out)).toEqual(bits(r.out));
  });
});

describeNative('convInputGrad (stride 1)', () => {
  it.each(INPUT_CASES.map((g, i) => [label(g), g, i] as const))('%s', (_, g, i) => {
    const r = run('input', g, 3000 + 7 * i, 1 + ((i + 2) % 4));
    expect(r.ok).toBe(true);
    expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
  });

  it('any out channel count (only the in channels need % 4): co 6, 3, 1', () => {
    for (const [i, co] of [6, 3, 1].entries()) {
      const g = geo({ n: 2, h: 7, w: 6, ci: 8, kh: 3, kw: 2, co, sh: 1, sw: 1, top: 1, left: 0 }, 1, 1);
      const r = run('input', g, 40 + i, 2);
      expect(r.ok).toBe(true);
      expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

describeNative('cases the kernels do not cover: false, output untouched', () => {
  const SENTINEL = 12345.5;
  function untouched(which: Which, g: Geo) {
    const s = sizes(g);
    const x = floats(s.x, 1);
    const w = floats(s.w, 2);
    const dy = floats(s.y, 3);
    const k = native();
    const out = new Float32Array(which === 'forward' ? s.y : which === 'filter' ? s.w : s.x).fill(SENTINEL);
    const ok =
      which === 'forward'
        ? k.convForward(x, w, out, pack(g), 2)
        : which === 'filter'
          ? k.convFilterGrad(x, dy, out, pack(g), 2)
          : k.convInputGrad(dy, w, out, pack(g), 2);
    expect(ok).toBe(false);
    expect(out.every((v) => v === SENTINEL)).toBe(true);
  }
  const base = { n: 2, h: 6, w: 6, kh: 3, kw: 3, sh: 1, sw: 1, top: 1, left: 1 };

  it.each([6, 1, 2, 3, 5, 10, 18])('convForward and convFilterGrad: out channels %i', (co) => {
    untouched('forward', geo({ ...base, ci: 4, co }, 1, 1));
    untouched('filter', geo({ ...base, ci: 4, co }, 1, 1));
  });

  it('convInputGrad: stride 2 (either axis), in channels not a multiple of 4', () => {
    untouched('input', geo({ ...base, ci: 4, co: 4, sh: 2, sw: 2 }, 1, 1));
    untouched('input', geo({ ...base, ci: 8, co: 8, sh: 2, sw: 1 }, 1, 1));
    untouched('input', geo({ ...base, ci: 8, co: 8, sh: 1, sw: 3 }, 1, 1));
    untouched('input', geo({ ...base, ci: 6, co: 8 }, 1, 1));
    untouched('input', geo({ ...base, ci: 3, co: 4 }, 1, 1));
  });
});

describeNative('thread counts', () => {
  function sameForAllThreads(which: Which, g: Geo) {
    const s = sizes(g);
    const x = floats(s.x, 5);
    const w = floats(s.w, 6);
    const dy = floats(s.y, 7);
    const k = native();
    const results = [1, 2, 3, 4].map((threads) => {
      const out = new Float32Array(which === 'forward' ? s.y : which === 'filter' ? s.w : s.x);
      const ok =
        which === 'forward'
          ? k.convForward(x, w, out, pack(g), threads)
          : which === 'filter'
            ? k.convFilterGrad(x, dy, out, pack(g), threads)
            : k.convInputGrad(dy, w, out, pack(g), threads);
      expect(ok).toBe(true);
      return out;
    });
    for (const r of results.slice(1)) expect(firstDifference(r, results[0])).toBe(-1);
    expect(scaledError(results[0], reference(which, g, x, w, dy))).toBeLessThanOrEqual(TOLERANCE);
  }
  // 3 * 41 * 39 = 4797 output pixels (many tiles and panels to split), depth 72 (several depth tiles).
  const big = (co: number) =>
    geo({ n: 3, h: 41, w: 39, ci: 8, kh: 3, kw: 3, co, sh: 1, sw: 1, top: 1, left: 1 }, 1, 1);

  it('convFilterGrad: threads 1, 2, 3, 4 give bit-identical results (co 32 and co 20)', () => {
    sameForAllThreads('filter', big(32));
    sameForAllThreads('filter', big(20));
    sameForAllThreads(
      'filter',
      geo({ n: 2, h: 13, w: 11, ci: 5, kh: 5, kw: 3, co: 12, sh: 2, sw: 3, top: 2, left: 1 }, 2, 1),
    );
  });

  it('convForward: threads 1, 2, 3, 4 give bit-identical results', () => {
    sameForAllThreads('forward', big(32));
    sameForAllThreads(
      'forward',
      geo({ n: 3, h: 13, w: 11, ci: 5, kh: 5, kw: 3, co: 12, sh: 2, sw: 3, top: 2, left: 1 }, 2, 1),
    );
  });

  it('convInputGrad: threads 1, 2, 3, 4 give bit-identical results', () => {
    sameForAllThreads('input', big(16));
  });

  it('threads below 1 run on one thread; more threads than work is fine', () => {
    const g = FIXED[0];
    const base = run('forward', g, 9, 1).out;
    for (const threads of [0, -3, 64]) {
      const r = run('forward', g, 9, threads);
      expect(r.ok).toBe(true);
      expect(firstDifference(r.out, base)).toBe(-1);
    }
    const tiny = geo({ n: 1, h: 2, w: 2, ci: 4, kh: 1, kw: 1, co: 4, sh: 1, sw: 1, top: 0, left: 0 }, 0, 0);
    const r = run('filter', tiny, 3, 16);
    expect(r.ok).toBe(true);
    expect(scaledError(r.out, r.want())).toBeLessThanOrEqual(TOLERANCE);
  });
});

describeNative('argument errors: a TypeError starting with "@bmp/backends-native:"', () => {
  const g = FIXED[0];
  const s = sizes(g);
  const x = new Float32Array(s.x);
  const w = new Float32Array(s.w);
  const y = new Float32Array(s.y);

  it('wrong argument count or types', () => {
    const k = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
    expectTypeError(
      () => k.convForward(x, w, y, pack(g)),
      /conv kernels take \(a, b, out, geometry, threads\)/,
    );
    expectTypeError(
      () => k.convForward(new Float64Array(s.x), w, y, pack(g), 1),
      /argument 0 must be a Float32Array/,
    );
    expectTypeError(
      () => k.convFilterGrad(x, Array.from(y), w, pack(g), 1),
      /argument 1 must be a Float32Array/,
    );
    expectTypeError(
      () => k.convInputGrad(y, w, new Int32Array(s.x), pack(g), 1),
      /argument 2 must be a Float32Array/,
    );
    expectTypeError(() => k.convForward(x, w, y.buffer, pack(g), 1), /argument 2 must be a Float32Array/);
  });

  it('bad geometry: not an Int32Array of 13, sizes below 1, pads out of range', () => {
    const k = native();
    const geometry = pack(g);
    expectTypeError(
      () => k.convForward(x, w, y, geometry.slice(0, 12), 1),
      /geometry must be an Int32Array of 13 values/,
    );
    expectTypeError(
      () => k.convForward(x, w, y, Float32Array.from(geometry) as never, 1),
      /Int32Array of 13/,
    );
    expectTypeError(() => k.convForward(x, w, y, Array.from(geometry) as never, 1), /Int32Array of 13/);
    for (const index of [0, 3, 6, 7, 9, 10]) {
      const bad = geometry.slice();
      bad[index] = 0;
      expectTypeError(
        () => k.convForward(x, w, y, bad, 1),
        new RegExp(`geometry value ${index} is out of range`),
      );
    }
    const farPad = geometry.slice();
    farPad[11] = -(1 << 21);
    expectTypeError(() => k.convFilterGrad(x, y, w, farPad, 1), /geometry value 11 is out of range/);
  });

  it('lengths that do not match the geometry, for each kernel and argument', () => {
    const k = native();
    const geometry = pack(g);
    const short = (a: Float32Array) => a.subarray(1);
    expectTypeError(
      () => k.convForward(short(x), w, y, geometry, 1),
      new RegExp(`argument 0 has ${s.x - 1} elements, the geometry needs ${s.x}`),
    );
    expectTypeError(() => k.convForward(x, short(w), y, geometry, 1), /argument 1 has/);
    expectTypeError(() => k.convForward(x, w, new Float32Array(s.y + 1), geometry, 1), /argument 2 has/);
    expectTypeError(
      () => k.convFilterGrad(x, y, short(w), geometry, 1),
      new RegExp(`argument 2 has ${s.w - 1} elements, the geometry needs ${s.w}`),
    );
    expectTypeError(() => k.convFilterGrad(x, w, w, geometry, 1), /argument 1 has/);
    expectTypeError(() => k.convInputGrad(x, w, y, geometry, 1), /argument 0 has/);
    expectTypeError(() => k.convInputGrad(y, w, short(x), geometry, 1), /argument 2 has/);
  });
});
