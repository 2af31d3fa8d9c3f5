import type { ImageDataset } from './dataset.js';

/** Per-channel mean and standard deviation of pixel values scaled to [0, 1] (pixel / 255). */
export interface ChannelStats {
  mean: number[];
  std: number[];
}

/**
 * Mean and population standard deviation of each channel over every pixel of `dataset` (normally the
 * training set), in [0, 1] units. Sums are accumulated in float64 per image, so this is exact to ~1e-12.
 */
export function channelStats(dataset: ImageDataset): ChannelStats {
  const c = dataset.shape[2];
  const { images } = dataset;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  for (let i = 0; i < images.length; i += c) {
    for (let k = 0; k < c; k++) {
      const v = images[i + k];
      sum[k] += v;
      sumSq[k] += v * v;
    }
  }
  const n = images.length / c;
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < c; k++) {
    const m = sum[k] / n;
    const variance = Math.max(0, sumSq[k] / n - m * m);
    mean.push(m / 255);
    std.push(Math.sqrt(variance) / 255);
  }
  return { mean, std };
}

/** Checks `stats` against `channels` and returns per-channel (scale, shift) with out = v * scale - shift. */
export function normalizationCoefficients(
  stats: ChannelStats | undefined,
  channels: number,
): { scale: Float32Array; shift: Float32Array } {
  const scale = new Float32Array(channels).fill(1 / 255);
  const shift = new Float32Array(channels);
  if (!stats) return { scale, shift };
  if (stats.mean.length !== channels || stats.std.length !== channels) {
    throw new RangeError(`normalize: expected ${channels} means and stds`);
  }
  for (let k = 0; k < channels; k++) {
    const s = stats.std[k];
    if (!(s > 0) || !Number.isFinite(stats.mean[k])) {
      throw new RangeError(`normalize: std of channel ${k} must be > 0 and mean finite`);
    }
    scale[k] = 1 / (255 * s);
    shift[k] = stats.mean[k] / s;
  }
  return { scale, shift };
}
