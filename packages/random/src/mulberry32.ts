/**
 * Mulberry32: a small, fast, seeded generator of uniforms in [0, 1). It is the one generator of the
 * project (spectra's start vectors and probes, dataset shuffles and augmentation, weight initialisation,
 * test data), so that results depend on the seed only, never on tfjs' global seed or on Math.random.
 */

/** What Mulberry32 adds to its 32-bit state before each output. */
export const MULBERRY32_INCREMENT = 0x6d2b79f5;

/** Mulberry32's next state: `state` plus the increment, modulo 2^32. */
export function mulberry32Advance(state: number): number {
  return (state + MULBERRY32_INCREMENT) >>> 0;
}

/**
 * Mulberry32's output, in [0, 1), for a state that has just been advanced. For code that keeps the
 * state in a field to reseed it without allocating a closure:
 * `state = mulberry32Advance(state); u = mulberry32Output(state)` draws what `mulberry32` draws.
 */
export function mulberry32Output(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Returns a generator of uniform numbers in [0, 1) seeded by `seed` (reduced to 32 bits). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = mulberry32Advance(a);
    return mulberry32Output(a);
  };
}
