#!/usr/bin/env node
/**
 * Writes a synthetic CIFAR-10-format data set (the official binary layout, via @bmp/datasets/testing's
 * writeCifarDirectory) for docs/results.md: 10 classes, each a random prototype of 4x4 colour blocks
 * (8x8 pixels each: coarse structure that convolutions and pooling can pick up), shown at low contrast
 * (pixel = 128 + contrast * (prototype - 128)) under strong uniform pixel noise, so that a small VGG needs a
 * few epochs rather than one batch. Train and test images share the prototypes.
 *
 *   node apps/trainer/scripts/write-synthetic-cifar.mjs <dir> [train=5000] [test=1000] [seed=0] [contrast=0.15]
 */
import { mixSeed, mulberry32 } from '@bmp/random';
import { writeCifarDirectory } from '@bmp/datasets/testing';

const [dir, trainArg = '5000', testArg = '1000', seedArg = '0', contrastArg = '0.15'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: write-synthetic-cifar.mjs <dir> [train] [test] [seed] [contrast]');
  process.exit(2);
}
const CONTRAST = Number(contrastArg);
const BLOCK = 8; // prototype cells of 8x8 pixels
const NOISE = 96; // uniform in [-NOISE, NOISE], of 255
const PIXELS = 32 * 32 * 3;
const seed = Number(seedArg);
const protoRand = mulberry32(mixSeed(seed, 1));
const cells = Float64Array.from({ length: 10 * (32 / BLOCK) ** 2 * 3 }, () => protoRand() * 255);
const prototypes = new Float64Array(10 * PIXELS);
for (let k = 0; k < 10; k++)
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++)
      for (let c = 0; c < 3; c++) {
        const cell =
          ((k * (32 / BLOCK) + Math.floor(y / BLOCK)) * (32 / BLOCK) + Math.floor(x / BLOCK)) * 3 + c;
        prototypes[k * PIXELS + (y * 32 + x) * 3 + c] = cells[cell];
      }

function split(count, salt) {
  const rand = mulberry32(mixSeed(seed, salt));
  const images = new Uint8Array(count * PIXELS);
  const labels = [];
  for (let n = 0; n < count; n++) {
    const label = Math.floor(rand() * 10);
    labels.push(label);
    for (let i = 0; i < PIXELS; i++) {
      const v = 128 + CONTRAST * (prototypes[label * PIXELS + i] - 128) + (2 * rand() - 1) * NOISE;
      images[n * PIXELS + i] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { images, labels };
}

const paths = await writeCifarDirectory(dir, {
  variant: 'cifar10',
  train: split(Number(trainArg), 2),
  test: split(Number(testArg), 3),
});
console.log(
  `wrote ${paths.length} files to ${dir} (${BLOCK}x${BLOCK} cells, contrast ${CONTRAST}, noise ±${NOISE})`,
);
