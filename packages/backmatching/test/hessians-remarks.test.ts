import { mlp, paperVgg } from '@bmp/models';
import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockChain } from '../src/backmatching/network-chain';
import { softmaxCrossEntropy } from '../src/backmatching/ops';
import { hzSpectraUnderScaling, remark3Ratios } from '../src/claims';
import { compareWithScalars } from '../src/hessians/eq24';

beforeAll(useCpuBackend);

describe('Remarks 2 and 3 (the setups of the claims report, src/claims, at other sizes and seeds)', () => {
  it('Remark 2: with BN the H_z spectrum does not change when W is scaled; without BN it scales with sigma^2', () => {
    const before = tf.memory().numTensors;
    for (const batchNorm of [true, false]) {
      const [base, scaled] = hzSpectraUnderScaling({ nIn: 5, nOut: 4, m: 6, batchNorm, seed: 1 }, [1, 3]);
      const top = base[base.length - 1];
      expect(top).toBeGreaterThan(0);
      for (let i = 0; i < base.length; i++) {
        const expected = batchNorm ? base[i] : 9 * base[i];
        // float32 autodiff: 1e-4 of the largest eigenvalue (x9 without BN)
        expect(Math.abs(scaled[i] - expected)).toBeLessThan(1e-4 * top * (batchNorm ? 1 : 9));
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('Remark 3: for BN inputs, E diag(H_w) = I / ||w||^2 (batch-mean normalisation)', () => {
    // z = BN(Gaussian data): unit batch variance per coordinate; w independent of z. H_w of row i is the
    // exact (autodiff) Hessian of 1/(2m) ||t - BN(Z w)||^2 at zero residual.
    const nIn = 16;
    const { ratios, projected } = remark3Ratios({ nIn, nOut: 3, m: 256, seed: 11 });
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    // expectation (nIn - 1)/nIn = 0.9375 (BN's scale invariance removes the direction of w: see the
    // closed-form test) and O(1/sqrt(m)) sampling noise: mean within 10% of 1.
    expect(Math.abs(mean - 1)).toBeLessThan(0.1);
    // Entry by entry the expectation is 1 - w_ij^2 / ||w_i||^2 (mean (nIn - 1)/nIn); sampling noise of
    // the batch covariance, O(1/sqrt(m)) per entry: within 0.25 (observed worst 0.12 at this seed).
    for (let k = 0; k < ratios.length; k++) expect(Math.abs(ratios[k] - projected[k])).toBeLessThan(0.25);
    const meanProjected = projected.reduce((a, b) => a + b, 0) / projected.length;
    expect(meanProjected).toBeCloseTo((nIn - 1) / nIn, 12);
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
