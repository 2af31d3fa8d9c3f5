// The addon's instruction-set variants (baseline, avx2, avx512) against each other, on the same random
// inputs. Exact where the code leaves no room for a difference: element-wise kernels with one rounding
// per operation (relu, reluGrad, the max-pooling pair, broadcastRows, and momentumStep, compiled without
// floating-point contraction). Sums may differ: with FMA (avx2, avx512) a product and its addition round
// once, in baseline twice; the tolerance is the kernels' accuracy bound against double precision in
// conv.test.ts and batch-norm.test.ts (scaled error 1e-5; elementwise.test.ts: 1e-6 for sumRows) taken
// twice, since each variant may be that far from the exact value on opposite sides. avx2 and avx512 both
// use FMA and add every element's products in the same order (only the vector width differs), and gave
// the same bits in every case measured with GCC 12, so that is asserted too: users get the same numbers
// on AVX2 and AVX-512 machines. The measured differences are printed (README, "Instruction sets").
import { expect, it } from 'vitest';
import { convGeometry, loadNativeKernelsFrom, type NativeKernels, packageDir } from '../src';
import { firstDifference, floats, nativeDescribe, nativeLoad, scaledError } from './native';

const describeNative = nativeDescribe('isa agreement tests');

/** The scaled-error bound between two variants, per kernel (see the header). */
const TOLERANCE: Record<string, number> = { sumRows: 2e-6, conv: 2e-5, batchNorm: 2e-5 };
/** Kernels that must give the same bits in every variant. */
const EXACT = ['relu', 'reluGrad', 'maxPool', 'maxPoolGrad', 'broadcastRows', 'momentumStep'];
/** The variants with FMA, which agree bit for bit (see the header). */
const FMA = ['avx2', 'avx512'];

type Outputs = Record<string, Float32Array>;

function runAll(k: NativeKernels): Outputs {
  const out: Outputs = {};
  const conv = (name: string, g: Parameters<typeof convGeometry>[0], seed: number) => {
    const geo = convGeometry(g);
    const xs = g.batch * g.inHeight * g.inWidth * g.inChannels;
    const ws = g.filterHeight * g.filterWidth * g.inChannels * g.outChannels;
    const ys = g.batch * g.outHeight * g.outWidth * g.outChannels;
    const x = floats(xs, seed);
    const w = floats(ws, seed + 1);
    const dy = floats(ys, seed + 2);
    out[`conv ${name} forward`] = new Float32Array(ys);
    out[`conv ${name} filter grad`] = new Float32Array(ws);
    expect(k.convForward(x, w, out[`conv ${name} forward`]!, geo, 2)).toBe(true);
    expect(k.convFilterGrad(x, dy, out[`conv ${name} filter grad`]!, geo, 2)).toBe(true);
    if (g.strideHeight === 1 && g.strideWidth === 1) {
      out[`conv ${name} input grad`] = new Float32Array(xs);
      expect(k.convInputGrad(dy, w, out[`conv ${name} input grad`]!, geo, 2)).toBe(true);
    }
  };
  const same = { strideHeight: 1, strideWidth: 1, padTop: 1, padLeft: 1, filterHeight: 3, filterWidth: 3 };
  // Direct kernels (rows of 8+ pixels), position tiles (4x4 outputs, batch 16) and a strided stem.
  conv(
    '8x8',
    {
      ...same,
      batch: 4,
      inHeight: 8,
      inWidth: 8,
      inChannels: 16,
      outChannels: 32,
      outHeight: 8,
      outWidth: 8,
    },
    1,
  );
  conv(
    '4x4',
    {
      ...same,
      batch: 16,
      inHeight: 4,
      inWidth: 4,
      inChannels: 32,
      outChannels: 64,
      outHeight: 4,
      outWidth: 4,
    },
    4,
  );
  conv(
    'stride 2',
    {
      ...same,
      strideHeight: 2,
      strideWidth: 2,
      batch: 2,
      inHeight: 9,
      inWidth: 9,
      inChannels: 3,
      outChannels: 16,
      outHeight: 5,
      outWidth: 5,
    },
    7,
  );

  const rows = 1000;
  const cols = 37;
  const x = floats(rows * cols, 10, -2, 2);
  out.sumRows = new Float32Array(cols);
  expect(k.sumRows(x, out.sumRows, 1 / rows, 2)).toBe(true);
  const v = floats(cols, 11, 0.5, 2);
  const parts: Float32Array[] = [];
  for (const op of [0, 1, 2, 3] as const) {
    const o = new Float32Array(x.length);
    expect(k.broadcastRows(op, x, v, o, op % 2 === 1, 2)).toBe(true);
    parts.push(o);
  }
  out.broadcastRows = Float32Array.from(parts.flatMap((p) => Array.from(p)));
  out.relu = new Float32Array(x.length);
  k.relu(x, out.relu, 2);
  const dy = floats(x.length, 12);
  out.reluGrad = new Float32Array(x.length);
  k.reluGrad(dy, x, out.reluGrad, 2);

  const n = 4096;
  const w = floats(n, 13);
  const g = floats(n, 14);
  const u = floats(n, 15);
  const wOut = new Float32Array(n);
  const uOut = new Float32Array(n);
  k.momentumStep(
    w,
    g,
    u,
    wOut,
    uOut,
    Float32Array.of(0.0051234, 0.9012345, 0.1234567, 0.9012345),
    true,
    true,
    2,
  );
  out.momentumStep = Float32Array.from([...wOut, ...uOut]);

  // Pooling: 2x2 windows, stride 2, on [2, 8, 8, 16].
  const pool = Int32Array.of(2, 8, 8, 16, 4, 4, 2, 2, 2, 2, 0, 0);
  const px = floats(2 * 8 * 8 * 16, 16);
  out.maxPool = new Float32Array(2 * 4 * 4 * 16);
  k.maxPool(px, out.maxPool, pool, 2);
  out.maxPoolGrad = new Float32Array(px.length);
  k.maxPoolGrad(px, floats(out.maxPool.length, 17), out.maxPoolGrad, pool, 2);

  const c = 24;
  const bx = floats(512 * c, 18, -3, 5);
  const bdy = floats(bx.length, 19);
  const stats = () => [new Float32Array(c), new Float32Array(c), new Float32Array(c)] as const;
  const [mean, variance, rstd] = stats();
  const xhat = new Float32Array(bx.length);
  k.batchNormForward(bx, xhat, mean, variance, rstd, 1e-3, 2);
  const dx = new Float32Array(bx.length);
  k.batchNormBackward(bdy, xhat, rstd, dx, 2);
  const [m2, v2, r2] = stats();
  const y = new Float32Array(bx.length);
  k.batchNormReluForward(bx, y, m2, v2, r2, 1e-3, 2);
  const dx2 = new Float32Array(bx.length);
  k.batchNormReluBackward(bdy, bx, m2, r2, dx2, 2);
  Object.assign(out, {
    'batchNorm xhat': xhat,
    'batchNorm variance': variance,
    'batchNorm dx': dx,
    'batchNorm relu y': y,
    'batchNorm relu dx': dx2,
  });
  return out;
}

const group = (kernel: string) =>
  kernel.startsWith('conv') ? 'conv' : kernel.startsWith('batchNorm') ? 'batchNorm' : kernel;

describeNative('the instruction-set variants agree', () => {
  const supported = nativeLoad.choice?.supported ?? [];
  const available = nativeLoad.choice?.available ?? [];
  const isas = supported.filter((isa) => available.includes(isa));

  it.runIf(isas.length >= 2)(`${isas.join(', ')}: exact or within the documented tolerance`, () => {
    const results = isas.map((isa) => {
      const r = loadNativeKernelsFrom({ packageDir, env: { BMP_NATIVE_ISA: isa } });
      expect(r.kernels, r.reason).not.toBeNull();
      expect(r.kernels!.info().isa).toBe(isa);
      return { isa, out: runAll(r.kernels!) };
    });
    const lines: string[] = [];
    for (let i = 0; i < results.length; i++) {
      for (let j = i + 1; j < results.length; j++) {
        const [a, b] = [results[i]!, results[j]!];
        for (const kernel of Object.keys(a.out)) {
          const [p, q] = [a.out[kernel]!, b.out[kernel]!];
          const identical = firstDifference(p, q) === -1;
          const error = scaledError(p, q);
          lines.push(
            `${a.isa} vs ${b.isa} ${kernel}: ${identical ? 'identical' : `scaled error ${error.toExponential(2)}`}`,
          );
          const exact = EXACT.includes(kernel) || (FMA.includes(a.isa) && FMA.includes(b.isa));
          if (exact) expect(identical, `${kernel}: ${a.isa} vs ${b.isa}`).toBe(true);
          else
            expect(error, `${kernel}: ${a.isa} vs ${b.isa}`).toBeLessThanOrEqual(TOLERANCE[group(kernel)]!);
        }
      }
    }
    console.log(`[isa agreement]\n${lines.join('\n')}`);
  });
});
