/**
 * The project's seeded generator (Mulberry32) and seed mixer come from `@bmp/random` (re-exported here and
 * from the package index). Nothing in this package uses `Math.random` or tfjs' global seed: every random
 * draw comes from a generator seeded by `mixSeed(seed, stream, ...)`, so results depend on the seed and
 * the position (epoch, sample) only, never on what else ran in the process.
 */
export { mixSeed, mulberry32 } from '@bmp/random';

/** Throws unless `seed` is a finite integer (any sign; it is reduced to 32 bits). */
export function checkSeed(seed: number, what = 'seed'): number {
  if (!Number.isInteger(seed)) throw new RangeError(`${what} must be an integer, got ${seed}`);
  return seed;
}

/** In-place Fisher-Yates shuffle driven by `rand`. */
export function shuffleInPlace(array: Uint32Array | number[], rand: () => number): void {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = array[i];
    array[i] = array[j];
    array[j] = t;
  }
}
