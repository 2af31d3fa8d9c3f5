import { describe, expect, it } from 'vitest';
import {
  gaussian,
  gaussianArray,
  mixSeed,
  mulberry32,
  mulberry32Advance,
  mulberry32Output,
  streamSeed,
} from '../src';

// Every expected value below was captured on 2026-12-05, before this package existed, from the five
// copies it replaces (packages/backmatching/src/spectra/random.ts, packages/datasets/src/random.ts,
// packages/models/src/random.ts, tooling/test-utils/src/random.ts, the inlined generator of
// packages/datasets/src/batcher.ts): all copies gave these same numbers. They pin the streams bit for bit,
// so that seeded results (datasets' order hashes, models' weights, Lanczos start vectors) do not move.

const take = (rand: () => number, n: number) => Array.from({ length: n }, () => rand());

describe('mulberry32', () => {
  it('draws the captured first outputs for seeds 0, 1, 42 and 2018', () => {
    expect(take(mulberry32(0), 5)).toEqual([
      0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111, 0.46732782293111086,
    ]);
    expect(take(mulberry32(1), 5)).toEqual([
      0.6270739405881613, 0.002735721180215478, 0.5274470399599522, 0.9810509674716741, 0.9683778982143849,
    ]);
    expect(take(mulberry32(42), 5)).toEqual([
      0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693, 0.17481389874592423,
    ]);
    expect(take(mulberry32(2018), 5)).toEqual([
      0.34892102400772274, 0.029196409275755286, 0.370916863437742, 0.9669759678654373, 0.9135473598726094,
    ]);
  });

  it('outputs are 32-bit integers over 2^32 (seed 0: 1144304738, 1416247, ...)', () => {
    expect(take(mulberry32(0), 5).map((u) => u * 4294967296)).toEqual([
      1144304738, 1416247, 958946056, 627933444, 2007157716,
    ]);
    expect(take(mulberry32(1), 5).map((u) => u * 4294967296)).toEqual([
      2693262067, 11749833, 2265367787, 4213581821, 4159151403,
    ]);
  });

  it('reduces the seed to 32 bits (-1 and 2^32 - 1 are one stream)', () => {
    const want = [
      0.8964226141106337, 0.189478256739676, 0.7156526781618595, 0.9440599093213677, 0.8452364315744489,
    ];
    expect(take(mulberry32(-1), 5)).toEqual(want);
    expect(take(mulberry32(0xffffffff), 5)).toEqual(want);
  });

  it('mulberry32Advance + mulberry32Output on a reseedable state draw the same stream', () => {
    for (const seed of [0, 1, 42, 2018, 0xffffffff]) {
      const rand = mulberry32(seed);
      let state = seed >>> 0;
      for (let i = 0; i < 1000; i++) {
        state = mulberry32Advance(state);
        expect(mulberry32Output(state)).toBe(rand());
      }
    }
  });
});

describe('seed mixers', () => {
  it('mixSeed gives the captured values (datasets streams)', () => {
    expect(mixSeed()).toBe(2654435769);
    expect(mixSeed(0)).toBe(2462723854);
    expect(mixSeed(1, 2, 3)).toBe(3299047535);
    expect(mixSeed(2 ** 40 + 1)).toBe(3810842751);
    expect(mixSeed(2 ** 40 + 1)).not.toBe(mixSeed(1));
  });

  it('streamSeed gives the captured values (models weight streams)', () => {
    expect(streamSeed(0, 0)).toBe(3298878556);
    expect(streamSeed(42, 3)).toBe(3223609012);
  });
});

describe('Gaussian draws', () => {
  it('gaussian (cosine branch, one value per call) gives the captured values', () => {
    expect(take(gaussian(mulberry32(7)), 4)).toEqual([
      0.14197043782155663, -0.8642530248729361, -1.006366324094015, 0.07088442311648852,
    ]);
  });

  it('gaussianArray (cosine and sine of each pair) gives the captured values', () => {
    expect(Array.from(gaussianArray(5, 7))).toEqual([
      0.14197043782155663, 0.058240714748711335, -0.8642530248729361, -2.605680906750795, -1.006366324094015,
    ]);
  });
});
