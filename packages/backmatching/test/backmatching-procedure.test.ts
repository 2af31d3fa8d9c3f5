import { expectNoLeak, randomArray, tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { chainBlock } from '../src/backmatching/chain';
import { backMatchingLoss, quadraticPenalty } from '../src/backmatching/losses';
import type { BlockChain } from '../src/backmatching/network-chain';
import { halfMeanSquaredError } from '../src/backmatching/ops';
import { backMatchingPropagation } from '../src/backmatching/procedure';

beforeAll(useCpuBackend);

/** Solves (A^T A) x = A^T b by Gaussian elimination in float64 (independent of ml-matrix). */
function normalEquations(a: number[][], b: number[]): number[] {
  const n = a[0].length;
  const m = Array.from({ length: n }, (_, i) => [
    ...Array.from({ length: n }, (_, j) => a.reduce((s, row) => s + row[i] * row[j], 0)),
    a.reduce((s, row, r) => s + row[i] * b[r], 0),
  ]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

function linearChain(): BlockChain {
  const w1 = tf.variable(tf.tensor(randomArray(5 * 4, 1), [5, 4]));
  const w2 = tf.variable(tf.tensor(randomArray(4 * 3, 2), [4, 3]));
  const w3 = tf.variable(tf.tensor(randomArray(3 * 2, 3), [3, 2]));
  const dense = (w: tf.Variable, nIn: number) =>
    chainBlock({ weights: [w], ops: [{ op: 'dense', weight: 0 }], inputShape: [nIn] });
  return { preprocess: [], inputShape: [5], blocks: [dense(w1, 5), dense(w2, 4), dense(w3, 3)] };
}

describe('Procedure 1', () => {
  it('reports per block the loss before and after each sub-step; k gradient steps decrease it', async () => {
    const chain = linearChain();
    const x = tf.tensor(randomArray(10 * 5, 4), [10, 5]);
    const y = tf.tensor(randomArray(10 * 2, 5), [10, 2]);
    const top = (out: tf.Tensor) => halfMeanSquaredError(y, out);
    await expectNoLeak(() => {
      const r = backMatchingPropagation(chain, x, {
        top,
        wStep: { kind: 'gradient', step: 0.1, steps: 5 },
        zStep: { kind: 'gradient', step: 0.5, steps: 3 },
      });
      expect(r.reports.map((b) => b.index)).toEqual([2, 1, 0]);
      for (const b of r.reports) {
        expect(b.w.after).toBeLessThan(b.w.before);
        if (b.index > 0) expect(b.z!.after).toBeLessThan(b.z!.before);
        else expect(b.z).toBeNull();
      }
      r.dispose();
    });
    tf.dispose([x, y, ...chain.blocks.flatMap((b) => b.weights)]);
  });

  it('exact least-squares sub-solvers on linear blocks reach the independently computed minimum', () => {
    const chain = linearChain();
    const m = 10;
    const x = tf.tensor(randomArray(m * 5, 6), [m, 5]);
    const y = tf.tensor(randomArray(m * 2, 7), [m, 2]);
    const top = (out: tf.Tensor) => halfMeanSquaredError(y, out);
    const r = backMatchingPropagation(chain, x, {
      top,
      wStep: (b) => (b === 2 ? { kind: 'gradient', step: 0.1 } : { kind: 'exact' }),
      zStep: (b) => (b === 2 ? { kind: 'gradient', step: 1 } : { kind: 'exact' }),
    });
    // block 2 (index 1): min_W 1/(2m) ||T - Z W||^2 with Z = z_1^k, T = z_2^{k+1/2}, by normal equations
    const z1 = tf.tidy(() => tf.matMul(x as tf.Tensor2D, chain.blocks[0].weights[0] as tf.Tensor2D));
    const T = r.targets[2]!;
    const Z = z1.arraySync() as number[][];
    const Tv = T.arraySync() as number[][];
    let minLoss = 0;
    for (let i = 0; i < 3; i++) {
      const col = Tv.map((row) => row[i]);
      const wcol = normalEquations(Z, col);
      for (let s = 0; s < m; s++) minLoss += (col[s] - Z[s].reduce((a, v, j) => a + v * wcol[j], 0)) ** 2;
    }
    minLoss /= 2 * m;
    const rep = r.reports.find((b) => b.index === 1)!;
    expect(rep.w.after).toBeCloseTo(minLoss, 5);
    expect(rep.w.after).toBeLessThan(rep.w.before);
    // exact z-step for block 2 (4 outputs < ... 4 inputs): square, so the mismatch vanishes
    expect(rep.z!.after).toBeLessThan(1e-8 + 1e-5 * rep.z!.before);
    // eq. (2) at z = forward pass has zero penalty, equals the training loss
    const zs = [x, z1, tf.matMul(z1 as tf.Tensor2D, chain.blocks[1].weights[0] as tf.Tensor2D)];
    const q = quadraticPenalty(chain, zs, top, 10);
    const j = tf.tidy(
      () => top(tf.matMul(zs[2] as tf.Tensor2D, chain.blocks[2].weights[0] as tf.Tensor2D)).dataSync()[0],
    );
    expect(q).toBeCloseTo(j, 6);
    expect(tf.tidy(() => backMatchingLoss(chain.blocks[1], zs[2], z1).dataSync()[0])).toBeCloseTo(0, 8);
    // the top block has no exact solver (its loss is the training loss)
    expect(() => backMatchingPropagation(chain, x, { top, wStep: { kind: 'exact' } })).toThrow(
      /least-squares/,
    );
    r.dispose();
    tf.dispose([x, y, z1, zs[2], ...chain.blocks.flatMap((b) => b.weights)]);
  });
});
