import { mulberry32 } from './mulberry32';

/**
 * Standard normal draws by Box-Muller, in two variants with different streams (both kept so that every
 * seeded stream stays bit-identical):
 * - `gaussian`: one value per call, the cosine branch only (two uniforms per value);
 * - `gaussianArray`: both branches, cosine then sine (two uniforms per pair of values).
 */

/** Standard normal samples from a uniform generator (Box-Muller; one value per call, no caching). */
export function gaussian(rand: () => number): () => number {
  return () => {
    // 1 - rand() is in (0, 1], so the log is finite.
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** `n` independent standard normal samples (Box-Muller pairs, float64) from `mulberry32(seed)`. */
export function gaussianArray(n: number, seed: number): Float64Array {
  const uniform = mulberry32(seed);
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
