import { mlp, paperVgg } from '@bmp/models';
import { randomArray, tf, useCpuBackend } from '@bmp/test-utils';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { chainBlock } from '../src/backmatching/chain';
import { blockChain } from '../src/backmatching/network-chain';
import { softmaxCrossEntropy } from '../src/backmatching/ops';
import { compareWithScalars } from '../src/hessians/eq24';
import { localHessianMatrix } from '../src/hessians/local-hessian';
import type { ExplicitMatrix } from '../src/hessians/symmetric-operator';

beforeAll(useCpuBackend);

const EPS = 1e-5;

function eigenvalues(a: ExplicitMatrix): number[] {
  const m = new Matrix(a.dim, a.dim);
  for (let i = 0; i < a.dim; i++)
    for (let j = 0; j < a.dim; j++) m.set(i, j, 0.5 * (a.data[i * a.dim + j] + a.data[j * a.dim + i]));
  return new EigenvalueDecomposition(m, { assumeSymmetric: true }).realEigenvalues.sort((x, y) => x - y);
}

describe('Remarks 2 and 3', () => {
  it('Remark 2: with BN the H_z spectrum does not change when W is scaled; without BN it scales with sigma^2', () => {
    const nIn = 5;
    const nOut = 4;
    const m = 6;
    const z = tf.tensor(randomArray(m * nIn, 1), [m, nIn]);
    const base = randomArray(nIn * nOut, 2);
    for (const bn of [true, false]) {
      const spectra = [1, 3].map((sigma) => {
        const w = tf.variable(
          tf.tensor(
            base.map((v) => v * sigma),
            [nIn, nOut],
          ),
        );
        const block = chainBlock({
          weights: [w],
          ops: bn
            ? [
                { op: 'dense', weight: 0 },
                { op: 'batchNorm', epsilon: 0 },
              ]
            : [{ op: 'dense', weight: 0 }],
          inputShape: [nIn],
        });
        const ev = eigenvalues(localHessianMatrix({ block, z, wrt: 'z', form: 'gauss-newton' }));
        w.dispose();
        return ev;
      });
      const top = spectra[0][spectra[0].length - 1];
      for (let i = 0; i < spectra[0].length; i++) {
        const expected = bn ? spectra[0][i] : 9 * spectra[0][i];
        // float32 autodiff: 1e-4 of the largest eigenvalue (x9 without BN)
        expect(Math.abs(spectra[1][i] - expected)).toBeLessThan(1e-4 * top * (bn ? 1 : 9));
      }
    }
    z.dispose();
  });

  it('Remark 3: for BN inputs, E diag(H_w) = I / ||w||^2 (batch-mean normalisation)', () => {
    // z = BN(Gaussian data): unit batch variance per coordinate; w independent of z. H_w of row i is the
    // exact (autodiff) Hessian of 1/(2m) ||t - BN(Z w)||^2 at zero residual.
    const nIn = 16;
    const nOut = 3;
    const m = 256;
    const raw = tf.randomNormal([m, nIn], 0, 1, 'float32', 11);
    const z = tf.tidy(() => {
      const { mean, variance } = tf.moments(raw, [0]);
      return tf.div(tf.sub(raw, mean), tf.sqrt(variance));
    });
    const w = tf.variable(tf.tensor(randomArray(nIn * nOut, 12, 0.7), [nIn, nOut]));
    const block = chainBlock({
      weights: [w],
      ops: [
        { op: 'dense', weight: 0 },
        { op: 'batchNorm', epsilon: EPS },
      ],
      inputShape: [nIn],
    });
    const h = localHessianMatrix({ block, z, wrt: 'W' });
    const kw = w.dataSync();
    const ratios: number[] = [];
    for (let i = 0; i < nOut; i++) {
      let norm2 = 0;
      for (let j = 0; j < nIn; j++) norm2 += kw[j * nOut + i] ** 2;
      for (let j = 0; j < nIn; j++) {
        const k = j * nOut + i;
        ratios.push(h.data[k * h.dim + k] * norm2);
      }
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    // expectation 1 - O(1/nIn) (BN's scale invariance removes the direction of w: see the closed-form test)
    // and O(1/sqrt(m)) sampling noise: mean within 10% of 1, every entry within 50%.
    expect(Math.abs(mean - 1)).toBeLessThan(0.1);
    for (const r of ratios) expect(Math.abs(r - 1)).toBeLessThan(0.5);
    tf.dispose([raw, z, w]);
  });
});

describe('eq. (24) against trace/dim of the local Hessians', () => {
  it('MLP with BN and a small paper VGG: structured per-block result', () => {
    const net = mlp({ sizes: [8, 6, 6, 3], batchNorm: true, seed: 1 });
    const x = tf.randomNormal([16, 8], 0, 1, 'float32', 2);
    const labels = tf.tidy(() =>
      tf.oneHot(
        tf.tensor1d(
          [...Array(16).keys()].map((i) => i % 3),
          'int32',
        ),
        3,
      ),
    );
    const top = (out: tf.Tensor) => softmaxCrossEntropy(labels, out);
    const before = tf.memory().numTensors;
    const rows = compareWithScalars(blockChain(net), x, { top });
    expect(tf.memory().numTensors).toBe(before);
    expect(rows.map((r) => r.name)).toEqual(net.blocks.map((b) => b.weight.name));
    for (const r of rows) {
      expect(r.hW.method).toBe('exact');
      expect(Number.isFinite(r.ratioW) && Number.isFinite(r.ratioZ)).toBe(true);
    }
    // block 1 (inputs N(0, 1), as eq. 17/18 assume for BN outputs) cut after its BN: trace/dim of H_z is
    // mZ * (m - 2)/m = 0.875 mZ and of H_W about mW * (nIn - 1)/nIn = 0.875 mW (see the closed-form tests);
    // tolerance 25% (sampling noise of a 16-sample batch).
    const first = rows[0].withoutActivation!;
    expect(Math.abs(first.ratioZ - 0.875)).toBeLessThan(0.25);
    expect(Math.abs(first.ratioW - 0.875)).toBeLessThan(0.25);
    // the ReLU after BN, which eq. (24) ignores, removes about half of the curvature
    for (const r of rows.slice(0, 2)) {
      expect(r.ratioZ / r.withoutActivation!.ratioZ).toBeGreaterThan(0.25);
      expect(r.ratioZ / r.withoutActivation!.ratioZ).toBeLessThan(0.75);
    }
    console.log(
      JSON.stringify(
        rows.map(({ hW, hZ, withoutActivation, ...r }) => ({
          ...r,
          without: withoutActivation && { rW: withoutActivation.ratioW, rZ: withoutActivation.ratioZ },
        })),
      ),
    );
    tf.dispose([x, labels]);
    net.dispose();

    const vgg = paperVgg({
      depth: 11,
      numClasses: 3,
      widthMultiplier: 1 / 32,
      inputShape: [8, 8, 1],
      seed: 3,
    });
    const xv = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 4);
    const lv = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1], 'int32'), 3));
    const rowsV = compareWithScalars(blockChain(vgg), xv, {
      top: (out) => softmaxCrossEntropy(lv, out),
      trace: { exactMaxDim: 64, probes: 4 },
      measureWithoutActivation: false,
    });
    expect(rowsV).toHaveLength(vgg.blocks.length);
    const last = rowsV.find((r) => r.name.endsWith('conv8/kernel'))!;
    expect(last.visibleTapFraction).toBeCloseTo(4 / 9, 10);
    // the top block (softmax cross-entropy) has a positive semi-definite Gauss-Newton H
    expect(rowsV[rowsV.length - 1].traceOverDimHW).toBeGreaterThan(0);
    expect(rowsV[rowsV.length - 1].traceOverDimHz).toBeGreaterThan(0);
    console.log(
      JSON.stringify(
        rowsV.map(({ hW, hZ, withoutActivation, ...r }) => ({
          ...r,
          methodW: hW.method,
          methodZ: hZ.method,
        })),
      ),
    );
    tf.dispose([xv, lv]);
    vgg.dispose();
  });
});
