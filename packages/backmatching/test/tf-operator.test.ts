import { countingOperator, denseOperator, lanczos, mulberry32, symmetricEigenvalues } from '@bmp/spectra';
import { expectNoLeak, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { tfOperator } from '../src';

beforeAll(useCpuBackend);

function ascending(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

describe('tfOperator (a tfjs product as a SymmetricOperator of @bmp/spectra)', () => {
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

/**
 * H = J^T J for a 3x3 convolution with 72 input and 72 output channels on an 8x8 map with circular
 * padding: a 4608-dimensional local Hessian (eq. 8 for the unrolled conv) whose exact spectrum is known
 * through the 2-D DFT: J is block-circulant, so its eigenvalues are those of K^(p,q)^H K^(p,q) over the
 * 64 frequencies, K^(p,q) = sum_{dy,dx} K[dy][dx] e^{2 pi i (p (dy - 1) + q (dx - 1)) / 8}.
 */
describe('lanczos on a tfjs conv-block operator (8 x 8 x 72 = 4608)', () => {
  const size = 8;
  const ch = 72;
  const n = size * size * ch;

  function exactSpectrum(kernel: Float32Array): Float64Array {
    const all: number[] = [];
    const re = new Float64Array(ch * ch); // K^ as [co][ci]
    const im = new Float64Array(ch * ch);
    for (let p = 0; p < size; p++) {
      for (let q = 0; q < size; q++) {
        re.fill(0);
        im.fill(0);
        for (let dy = 0; dy < 3; dy++) {
          for (let dx = 0; dx < 3; dx++) {
            const phase = (2 * Math.PI * (p * (dy - 1) + q * (dx - 1))) / size;
            const c = Math.cos(phase);
            const s = Math.sin(phase);
            for (let ci = 0; ci < ch; ci++) {
              for (let co = 0; co < ch; co++) {
                const k = kernel[((dy * 3 + dx) * ch + ci) * ch + co];
                re[co * ch + ci] += k * c;
                im[co * ch + ci] += k * s;
              }
            }
          }
        }
        // M = K^H K (ci x ci, Hermitian) as the real symmetric [[X, -Y], [Y, X]], eigenvalues doubled.
        const m2 = 2 * ch;
        const big = new Float64Array(m2 * m2);
        for (let i = 0; i < ch; i++) {
          for (let j = 0; j < ch; j++) {
            let x = 0;
            let y = 0;
            for (let o = 0; o < ch; o++) {
              const ar = re[o * ch + i];
              const ai = -im[o * ch + i]; // conj(K)[o][i]
              const br = re[o * ch + j];
              const bi = im[o * ch + j];
              x += ar * br - ai * bi;
              y += ar * bi + ai * br;
            }
            big[i * m2 + j] = x;
            big[(i + ch) * m2 + j + ch] = x;
            big[i * m2 + j + ch] = -y;
            big[(i + ch) * m2 + j] = y;
          }
        }
        const ev = symmetricEigenvalues({ dim: m2, data: big }, { symmetryTolerance: 1e-9 });
        for (let k = 0; k < m2; k += 2) all.push((ev[k] + ev[k + 1]) / 2);
      }
    }
    return ascending(all);
  }

  it('matches the DFT spectrum, counts its products, allocates no 4608 x 4608 tensor and leaks none', async () => {
    const rand = mulberry32(31);
    const kernelValues = Float32Array.from(
      { length: 9 * ch * ch },
      () => (2 * rand() - 1) * Math.sqrt(3 / (9 * ch)),
    );
    const kernel = tf.tensor4d(kernelValues, [3, 3, ch, ch]);
    const wrap = (x: tf.Tensor4D): tf.Tensor4D => {
      const rows = tf.concat(
        [x.slice([0, size - 1, 0, 0], [1, 1, size, ch]), x, x.slice([0, 0, 0, 0], [1, 1, size, ch])],
        1,
      );
      return tf.concat(
        [
          rows.slice([0, 0, size - 1, 0], [1, size + 2, 1, ch]),
          rows,
          rows.slice([0, 0, 0, 0], [1, size + 2, 1, ch]),
        ],
        2,
      ) as tf.Tensor4D;
    };
    // J^T is the circular correlation with the flipped, channel-transposed kernel
    // K'[dy][dx][co][ci] = K[2 - dy][2 - dx][ci][co]: H v = J^T (J v) is two forward convolutions.
    const kernelT = tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
    const conv = (x: tf.Tensor4D, k: tf.Tensor4D) => tf.conv2d(wrap(x), k, 1, 'valid');
    const hv = (v: tf.Tensor1D) =>
      conv(conv(v.reshape([1, size, size, ch]), kernel), kernelT).reshape([n]) as tf.Tensor1D;
    const op = countingOperator(tfOperator(n, hv, 'conv J^T J'));

    let res: ReturnType<typeof lanczos> | undefined;
    const before = tf.memory().numTensors;
    const profile = await expectNoLeak(() =>
      tf.profile(() => {
        res = lanczos(op, { k: 2, which: 'largest', tol: 1e-5, seed: 3 });
      }),
    );
    expect(tf.memory().numTensors).toBe(before);
    // A real kernel gives conjugate K^(p,q) and K^(-p,-q), so most eigenvalues come in equal pairs.
    // Single-vector Lanczos finds one copy of an exact double eigenvalue, but float32 rounding in the
    // products splits the pairs by ~1e-8 and it may resolve both: which happens depends on the rounding.
    // So: every Ritz value is within 1e-5 relative of an eigenvalue (observed 1e-8), the largest is
    // lambda_max, and no distinct eigenvalue above the smallest Ritz value is missed.
    const exact = exactSpectrum(kernelValues);
    const scale = exact[n - 1];
    const values = res!.values;
    for (const v of values) {
      let nearest = Number.POSITIVE_INFINITY;
      for (let i = n - 1; i >= n - 64; i--) nearest = Math.min(nearest, Math.abs(exact[i] - v));
      expect(nearest / scale).toBeLessThan(1e-5);
    }
    expect(Math.abs(values[values.length - 1] - scale) / scale).toBeLessThan(1e-5);
    for (let i = n - 1; exact[i] >= values[0] * (1 + 1e-5); i--) {
      expect(Math.min(...Array.from(values, (v) => Math.abs(v - exact[i]))) / scale).toBeLessThan(1e-5);
    }
    expect(res!.converged).toBe(true);
    expect(res!.matvecs).toBe(op.count);
    // Observed 57 products (k = 2, tol 1e-5); the bound leaves room for rounding, far below n = 4608.
    expect(res!.matvecs).toBeLessThanOrEqual(100);
    // A 4608 x 4608 float32 tensor would be 85 MB; all tensors alive at once stayed under 2 MB
    // (observed peak 0.6 MB: the kernels and a few padded maps).
    expect(profile.peakBytes).toBeLessThan(2e6);
    tf.dispose([kernel, kernelT]);
  });
});
