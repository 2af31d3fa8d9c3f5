import { describe, expect, it } from 'vitest';
import { Batcher, channelStats, cropWithPadding, flipHorizontal, rotate, syntheticDataset } from '../src';
import { augmentImage } from '../src/augment';
import { mulberry32 } from '../src/random';

const f32 = (values: number[]) => Float32Array.from(values);

describe('flipHorizontal', () => {
  it('mirrors a 2x3 single-channel image (by hand)', () => {
    // [[1, 2, 3],
    //  [4, 5, 6]]  ->  [[3, 2, 1], [6, 5, 4]]
    const out = flipHorizontal(f32([1, 2, 3, 4, 5, 6]), [2, 3, 1], new Float32Array(6));
    expect(Array.from(out)).toEqual([3, 2, 1, 6, 5, 4]);
  });

  it('keeps the channels of a pixel together (2x3x2, by hand)', () => {
    const src = f32([1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60]);
    const out = flipHorizontal(src, [2, 3, 2], new Float32Array(12));
    expect(Array.from(out)).toEqual([3, 30, 2, 20, 1, 10, 6, 60, 5, 50, 4, 40]);
  });
});

describe('rotate (bilinear, zero fill)', () => {
  const n = 5;
  const c = 2;
  const rand = mulberry32(5);
  const src = Float32Array.from({ length: n * n * c }, () => Math.round(rand() * 255));
  const at = (img: Float32Array, y: number, x: number, k: number) => img[(y * n + x) * c + k];

  it('90 degrees counter-clockwise equals transpose then vertical flip: out[y][x] = src[x][n-1-y]', () => {
    const out = rotate(src, [n, n, c], 90, new Float32Array(src.length));
    // Tolerance 1e-4: grid coordinates are snapped, so the copy is exact up to float32 storage.
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++)
        for (let k = 0; k < c; k++)
          expect(Math.abs(at(out, y, x, k) - at(src, x, n - 1 - y, k))).toBeLessThan(1e-4);
  });

  it('0 degrees is the identity, 180 degrees flips both axes, -90 undoes 90', () => {
    const id = rotate(src, [n, n, c], 0, new Float32Array(src.length));
    expect(Array.from(id)).toEqual(Array.from(src));
    const half = rotate(src, [n, n, c], 180, new Float32Array(src.length));
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++)
        for (let k = 0; k < c; k++)
          expect(Math.abs(at(half, y, x, k) - at(src, n - 1 - y, n - 1 - x, k))).toBeLessThan(1e-4);
    const back = rotate(
      rotate(src, [n, n, c], 90, new Float32Array(src.length)),
      [n, n, c],
      -90,
      new Float32Array(src.length),
    );
    for (let i = 0; i < src.length; i++) expect(Math.abs(back[i] - src[i])).toBeLessThan(1e-4);
  });

  it('interpolates bilinearly: a linear ramp f = x is reproduced exactly inside the image', () => {
    // Bilinear interpolation is exact on linear functions, so wherever all four neighbours lie inside the
    // source, out(y, x) must equal the source x-coordinate cx + cos(t) dx - sin(t) dy (tolerance 1e-4).
    const m = 9;
    const ramp = Float32Array.from({ length: m * m }, (_, i) => i % m);
    const deg = 17;
    const out = rotate(ramp, [m, m, 1], deg, new Float32Array(m * m));
    const t = (deg * Math.PI) / 180;
    const cx = (m - 1) / 2;
    let checked = 0;
    for (let y = 0; y < m; y++) {
      for (let x = 0; x < m; x++) {
        const sx = cx + Math.cos(t) * (x - cx) - Math.sin(t) * (y - cx);
        const sy = cx + Math.sin(t) * (x - cx) + Math.cos(t) * (y - cx);
        if (sx < 0 || sy < 0 || sx > m - 1 || sy > m - 1) continue;
        expect(Math.abs(out[y * m + x] - sx)).toBeLessThan(1e-4);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('fills with zeros outside the source: corners of a 45-degree rotation of a constant image are 0', () => {
    const m = 8;
    const ones = new Float32Array(m * m).fill(1);
    const out = rotate(ones, [m, m, 1], 45, new Float32Array(m * m));
    expect([out[0], out[m - 1], out[m * (m - 1)], out[m * m - 1]]).toEqual([0, 0, 0, 0]);
    // the centre stays 1 (tolerance 1e-6: bilinear weights sum to 1 up to rounding)
    expect(Math.abs(out[(m / 2) * m + m / 2] - 1)).toBeLessThan(1e-6);
  });
});

describe('cropWithPadding', () => {
  // 3x3 image [[1,2,3],[4,5,6],[7,8,9]], padding 1.
  const src = f32([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const crop = (dy: number, dx: number) =>
    Array.from(cropWithPadding(src, [3, 3, 1], 1, dy, dx, new Float32Array(9)));

  it('offset (padding, padding) is the identity', () => {
    expect(crop(1, 1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('offset (0, 0) shifts content down-right by one, zero-filled', () => {
    expect(crop(0, 0)).toEqual([0, 0, 0, 0, 1, 2, 0, 4, 5]);
  });

  it('offset (2, 1) shifts content up by one; offset (1, 2) shifts left by one', () => {
    expect(crop(2, 1)).toEqual([4, 5, 6, 7, 8, 9, 0, 0, 0]);
    expect(crop(1, 2)).toEqual([2, 3, 0, 5, 6, 0, 8, 9, 0]);
  });
});

describe('augmentImage', () => {
  it('flip-only augmentation gives either the image or its mirror, each about half the time', () => {
    const src = f32([1, 2, 3, 4, 5, 6]);
    let flipped = 0;
    const rand = mulberry32(9);
    for (let i = 0; i < 400; i++) {
      const out = Array.from(
        augmentImage(Float32Array.from(src), new Float32Array(6), [2, 3, 1], { flip: true }, rand),
      );
      if (out[0] === 3) {
        flipped++;
        expect(out).toEqual([3, 2, 1, 6, 5, 4]);
      } else expect(out).toEqual([1, 2, 3, 4, 5, 6]);
    }
    // Binomial(400, 1/2): 200 +- 10 (sd); 140..260 is a 6-sigma band.
    expect(flipped).toBeGreaterThan(140);
    expect(flipped).toBeLessThan(260);
  });
});

describe('normalisation', () => {
  it('per-channel (x - mean) / std over the training set gives mean 0 and std 1 per channel', () => {
    const train = syntheticDataset({ count: 300, shape: [6, 5, 3], numClasses: 4, seed: 3 });
    const stats = channelStats(train);
    const batcher = new Batcher({ dataset: train, batchSize: 64, seed: 1, shuffle: false, normalize: stats });
    const sum = [0, 0, 0];
    const sq = [0, 0, 0];
    let n = 0;
    for (const batch of batcher.epoch(0)) {
      for (let i = 0; i < batch.x.length; i += 3) {
        for (let k = 0; k < 3; k++) {
          sum[k] += batch.x[i + k];
          sq[k] += batch.x[i + k] ** 2;
        }
        n++;
      }
    }
    expect(n).toBe(300 * 30);
    for (let k = 0; k < 3; k++) {
      const mean = sum[k] / n;
      const std = Math.sqrt(sq[k] / n - mean * mean);
      // float32 outputs, float64 sums: both within 1e-5.
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.abs(std - 1)).toBeLessThan(1e-5);
    }
    // Independent check of the statistics on channel 0 (two-pass, float64).
    let m0 = 0;
    for (let i = 0; i < train.images.length; i += 3) m0 += train.images[i] / 255;
    m0 /= train.images.length / 3;
    let v0 = 0;
    for (let i = 0; i < train.images.length; i += 3) v0 += (train.images[i] / 255 - m0) ** 2;
    v0 /= train.images.length / 3;
    expect(Math.abs(stats.mean[0] - m0)).toBeLessThan(1e-12);
    expect(Math.abs(stats.std[0] - Math.sqrt(v0))).toBeLessThan(1e-12);
  });

  it('without normalize, values are pixel / 255', () => {
    const ds = syntheticDataset({ count: 3, shape: [2, 2, 1], numClasses: 2, seed: 4 });
    const batch = new Batcher({ dataset: ds, batchSize: 3, seed: 0, shuffle: false }).batch(0, 0);
    for (let i = 0; i < 12; i++) expect(Math.abs(batch.x[i] - ds.images[i] / 255)).toBeLessThan(1e-7);
  });
});
