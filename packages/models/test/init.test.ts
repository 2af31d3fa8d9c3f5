import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlp, orthogonalKernel, paperVgg, resolveInit } from '../src';

beforeAll(useCpuBackend);

/** G = W W^T for the paper's W (nOut x fanIn) given the tfjs kernel K = W^T ([fanIn, nOut], row-major). */
function gramRows(k: ArrayLike<number>, fanIn: number, nOut: number): number[][] {
  const g = Array.from({ length: nOut }, () => new Array<number>(nOut).fill(0));
  for (let a = 0; a < nOut; a++) {
    for (let b = 0; b < nOut; b++) {
      let s = 0;
      for (let f = 0; f < fanIn; f++) s += k[f * nOut + a] * k[f * nOut + b];
      g[a][b] = s;
    }
  }
  return g;
}

function maxDeviationFromIdentity(g: number[][], scale = 1): number {
  let worst = 0;
  for (const [i, row] of g.entries()) {
    for (const [j, v] of row.entries()) worst = Math.max(worst, Math.abs(v - (i === j ? scale : 0)));
  }
  return worst;
}

function stats(values: ArrayLike<number>) {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = s / values.length;
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(ss / values.length) };
}

// float32 storage of float64 Householder QR: entries of W W^T agree with I to ~1e-6.
const ORTHO_TOL = 5e-6;

describe('initialisers', () => {
  it('orthogonal: W W^T = I for wide W (nOut <= fanIn), W^T W = I for tall W', () => {
    const wide = orthogonalKernel(72, 16, 1); // conv 3x3x8 -> 16
    expect(maxDeviationFromIdentity(gramRows(wide, 72, 16))).toBeLessThan(ORTHO_TOL);
    const tall = orthogonalKernel(5, 12, 2); // K = W^T is 5 x 12; W^T W = K K^T: rows of K orthonormal
    const g = Array.from({ length: 5 }, (_, a) =>
      Array.from({ length: 5 }, (_, b) => {
        let s = 0;
        for (let o = 0; o < 12; o++) s += tall[a * 12 + o] * tall[b * 12 + o];
        return s;
      }),
    );
    expect(maxDeviationFromIdentity(g)).toBeLessThan(ORTHO_TOL);
    const square = orthogonalKernel(20, 20, 3, 2);
    expect(maxDeviationFromIdentity(gramRows(square, 20, 20), 4)).toBeLessThan(4 * ORTHO_TOL);
  });

  it('orthogonal init of a paper VGG: every conv filter bank has orthonormal rows', () => {
    const m = paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, init: 'orthogonal', seed: 4 });
    for (const b of m.blocks) {
      const shape = b.weight.shape;
      const nOut = shape[shape.length - 1];
      const fanIn = b.weight.size / nOut;
      expect(nOut).toBeLessThanOrEqual(fanIn);
      expect(
        maxDeviationFromIdentity(gramRows(b.weight.dataSync(), fanIn, nOut)),
        b.weight.name,
      ).toBeLessThan(ORTHO_TOL);
    }
    m.dispose();
  });

  it('he: zero-mean normal with std sqrt(2 / fanIn); gaussian: the given std', () => {
    const he = mlp({ sizes: [200, 300, 2], init: 'he', seed: 5 });
    const s = stats(he.trainableVariables[0].dataSync());
    expect(Math.abs(s.mean)).toBeLessThan(0.003); // 60000 samples: std of the mean is 1e-4 * sqrt(...) ~ 4e-4
    expect(Math.abs(s.std / Math.sqrt(2 / 200) - 1)).toBeLessThan(0.01);
    he.dispose();
    const g = mlp({ sizes: [200, 300, 2], init: { kind: 'gaussian', std: 0.05 }, seed: 5 });
    expect(Math.abs(stats(g.trainableVariables[0].dataSync()).std / 0.05 - 1)).toBeLessThan(0.01);
    g.dispose();
    expect(resolveInit('gaussian')).toEqual({ kind: 'gaussian', std: 0.01 });
    expect(() => resolveInit('xavier' as never)).toThrow(/init must be/);
  });

  it('initial values do not depend on the tfjs global seed or the backend (generated in JS)', () => {
    const a = orthogonalKernel(9, 4, 11);
    const b = orthogonalKernel(9, 4, 11);
    expect(Array.from(a)).toEqual(Array.from(b));
    const m1 = mlp({ sizes: [4, 3], seed: 1 });
    tf.randomNormal([10]).dispose();
    const m2 = mlp({ sizes: [4, 3], seed: 1 });
    expect(Array.from(m1.trainableVariables[0].dataSync())).toEqual(
      Array.from(m2.trainableVariables[0].dataSync()),
    );
    m1.dispose();
    m2.dispose();
  });
});
