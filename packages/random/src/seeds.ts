/**
 * Seed mixers: integers (a seed and a stream, epoch, sample or layer index) into one 32-bit seed, so
 * that nearby inputs give unrelated generator states. Two mixers with different arithmetic exist
 * because each defines its users' streams (datasets' shuffles and augmentation, models' weights):
 * they are kept separate so that every seeded stream stays bit-identical.
 */

/**
 * Mixes integers into one 32-bit seed (murmur3's finaliser applied after each part). Values of 2^32 and
 * above are folded in too, so seeds like 2^40 + 1 and 1 differ. The mixer of `@bmp/datasets`.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    h = mix(h, part >>> 0);
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

/**
 * Mixes a seed and a stream index (a layer) into an independent 32-bit stream seed (splitmix32-style).
 * The mixer of `@bmp/models`' weight initialisation.
 */
export function streamSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((stream + 1) >>> 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
