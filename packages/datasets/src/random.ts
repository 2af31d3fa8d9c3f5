/**
 * The project's seeded generator (Mulberry32, the same algorithm as `@bmp/test-utils`' `seededRandom`)
 * and a seed mixer. Nothing in this package uses `Math.random` or tfjs' global seed: every random draw
 * comes from a generator seeded by `mixSeed(seed, stream, ...)`, so results depend on the seed and the
 * position (epoch, sample) only, never on what else ran in the process.
 */

/** Returns a generator of uniform numbers in [0, 1) (Mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Throws unless `seed` is a finite integer (any sign; it is reduced to 32 bits). */
export function checkSeed(seed: number, what = 'seed'): number {
  if (!Number.isInteger(seed)) throw new RangeError(`${what} must be an integer, got ${seed}`);
  return seed;
}

/**
 * Mixes integers into one 32-bit seed (murmur3's finaliser applied after each part), so that nearby
 * inputs (seed, epoch, index) give unrelated generator states.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    h = mix(h, part >>> 0);
    // Fold values of 2^32 and above in too, so seeds like 2^40 + 1 and 1 differ.
    const hi = Math.floor(part / 4294967296) >>> 0;
    if (hi !== 0) h = mix(h, hi);
  }
  return h >>> 0;
}

function mix(h: number, v: number): number {
  let x = h ^ v;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
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
