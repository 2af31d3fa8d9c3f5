import type { ImageDataset } from './dataset.js';
import { checkSeed, mixSeed, mulberry32, shuffleInPlace } from './random.js';

export interface SyntheticOptions {
  count: number;
  /** [height, width, channels]. */
  shape: [number, number, number];
  numClasses: number;
  seed: number;
  /** Half-width of the uniform pixel noise around the class prototype (default 48, of 255). */
  noise?: number;
}

/**
 * A learnable random dataset for tests and benchmarks: each class has a random prototype image (pixels
 * uniform in [48, 207]); an image is its class prototype plus uniform noise in [-noise, noise], clamped to
 * [0, 255]. Classes are balanced (counts differ by at most one) and in seeded random order.
 */
export function syntheticDataset(options: SyntheticOptions): ImageDataset {
  const { count, shape, numClasses } = options;
  const seed = checkSeed(options.seed);
  const noise = options.noise ?? 48;
  if (!Number.isInteger(count) || count < 0) throw new RangeError('syntheticDataset: count must be >= 0');
  if (!Number.isInteger(numClasses) || numClasses < 1)
    throw new RangeError('syntheticDataset: numClasses >= 1');
  if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError('syntheticDataset: shape must be [height, width, channels] of positive integers');
  }
  const size = shape[0] * shape[1] * shape[2];
  const protoRand = mulberry32(mixSeed(seed, 11));
  const prototypes = new Uint8Array(numClasses * size);
  for (let i = 0; i < prototypes.length; i++) prototypes[i] = 48 + Math.floor(protoRand() * 160);
  const labelOrder = new Uint32Array(count);
  for (let i = 0; i < count; i++) labelOrder[i] = i % numClasses;
  shuffleInPlace(labelOrder, mulberry32(mixSeed(seed, 12)));
  const labels = Int32Array.from(labelOrder);
  const images = new Uint8Array(count * size);
  const noiseRand = mulberry32(mixSeed(seed, 13));
  for (let n = 0; n < count; n++) {
    const proto = labels[n] * size;
    for (let i = 0; i < size; i++) {
      const v = prototypes[proto + i] + Math.round((2 * noiseRand() - 1) * noise);
      images[n * size + i] = Math.max(0, Math.min(255, v));
    }
  }
  const classNames = Array.from({ length: numClasses }, (_, k) => `class-${k}`);
  return { images, labels, count, shape: [shape[0], shape[1], shape[2]], classNames };
}
