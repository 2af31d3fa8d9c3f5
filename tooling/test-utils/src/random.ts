// Seeded test data without tfjs (importable alone as '@bmp/test-utils/random').
import { mulberry32 } from '@bmp/random';

/** Mulberry32 (`@bmp/random`): a small seeded generator, so test data does not depend on tfjs' global seed. */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** A Float32Array of `n` values uniform in [-scale, scale), from `seed`. */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * scale;
  return out;
}
