/**
 * Seeded random numbers for weight initialisation. Everything is generated in JavaScript (not by the
 * tfjs backend), so a seed gives the same weights on every backend and platform.
 */

/** Mixes a model seed and a layer index into an independent 32-bit stream seed (splitmix32-style). */
export function streamSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((stream + 1) >>> 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Mulberry32: a small, fast, seeded generator of uniforms in [0, 1). */
export function uniformGenerator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` independent standard normal samples (Box-Muller, float64) from `seed`. */
export function gaussianArray(n: number, seed: number): Float64Array {
  const uniform = uniformGenerator(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
