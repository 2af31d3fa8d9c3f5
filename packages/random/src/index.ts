export { gaussian, gaussianArray } from './gaussian';
export { MULBERRY32_INCREMENT, mulberry32, mulberry32Advance, mulberry32Output } from './mulberry32';
export { mixSeed, streamSeed } from './seeds';
