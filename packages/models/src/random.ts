/**
 * Seeded random numbers for weight initialisation, from `@bmp/random`. Everything is generated in
 * JavaScript (not by the tfjs backend), so a seed gives the same weights on every backend and platform.
 * `streamSeed` mixes a model seed and a layer index into an independent stream seed; `uniformGenerator`
 * is Mulberry32; `gaussianArray` draws standard normals by Box-Muller pairs (float64).
 */
export { gaussianArray, mulberry32 as uniformGenerator, streamSeed } from '@bmp/random';
