import '@tensorflow/tfjs-backend-cpu';
import { denseBnHz, denseHz, residualGaussNewtonZ } from '@bmp/backmatching';
import { symmetricEigenvalues } from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BN_EPSILON,
  computeLab,
  type LabSettings,
  labMatrices,
  settingsProblem,
} from '../src/web/lab/compute';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const base: LabSettings = {
  nIn: 12,
  nOut: 8,
  batch: 16,
  init: 'gaussian',
  scale: 1,
  batchNorm: false,
  skip: 'none',
  seed: 3,
};

/** W (nOut x nIn, paper orientation) as the tfjs kernel K = W^T (nIn x nOut) the closed forms take. */
function kernelOf(w: Float32Array, nOut: number, nIn: number): Float64Array {
  const k = new Float64Array(nIn * nOut);
  for (let i = 0; i < nOut; i++) for (let j = 0; j < nIn; j++) k[j * nOut + i] = w[i * nIn + j];
  return k;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('Hessian lab matrices (tfjs, cpu backend) against @bmp/backmatching closed forms', () => {
  it('dense: W^T W equals denseHz (eq. 8) to float32 rounding (abs 1e-5)', async () => {
    const before = tf.memory().numTensors;
    const m = await labMatrices(base);
    expect(tf.memory().numTensors).toBe(before);
    const ref = denseHz(kernelOf(m.w, base.nOut, base.nIn), base.nIn, base.nOut, 1);
    expect(ref.dim).toBe(base.nIn);
    expect(maxAbsDiff(m.h, ref.data)).toBeLessThan(1e-5);
  });

  it('dense + BN: equals m times a diagonal block of denseBnHz (eq. 17) with the same epsilon (rel 1e-4)', async () => {
    const s = { ...base, batchNorm: true };
    const m = await labMatrices(s);
    const ref = denseBnHz(kernelOf(m.w, s.nOut, s.nIn), m.z!, s.batch, s.nIn, s.nOut, BN_EPSILON);
    // denseBnHz is (1/m) I_m (x) H: its first nIn x nIn block times m is H.
    const block = new Float64Array(s.nIn * s.nIn);
    for (let i = 0; i < s.nIn; i++)
      for (let j = 0; j < s.nIn; j++) block[i * s.nIn + j] = ref.data[i * ref.dim + j] * s.batch;
    const scale = Math.max(...block.map(Math.abs));
    expect(maxAbsDiff(m.h, block) / scale).toBeLessThan(1e-4);
  });

  it.each(['identity', 'orthogonal', 'non-orthogonal'] as const)(
    'skip %s: equals residualGaussNewtonZ (eq. 13) with J = W (abs 1e-4)',
    async (skip) => {
      const s = { ...base, nOut: 10, nIn: 10, skip };
      const m = await labMatrices(s);
      const ref = residualGaussNewtonZ(Float64Array.from(m.w), s.nIn, 1, skip === 'identity' ? null : m.skip);
      expect(maxAbsDiff(m.h, ref.data)).toBeLessThan(1e-4);
    },
  );
});

describe('computeLab: the claims of section 3 in numbers', () => {
  it('orthogonal W: eigenvalues scale^2 (n_b of them) and 0, condition number 1 (tolerance 1e-5)', async () => {
    const r = await computeLab({ ...base, nIn: 16, nOut: 8, init: 'orthogonal', scale: 2 });
    expect(r.tensorsAfter).toBe(r.tensorsBefore);
    expect(r.rank).toBe(8);
    const sorted = [...r.eigenvalues].sort((a, b) => a - b);
    for (const v of sorted.slice(0, 8)) expect(Math.abs(v)).toBeLessThan(1e-5);
    for (const v of sorted.slice(8)) expect(v).toBeCloseTo(4, 5);
    expect(r.condition).toBeCloseTo(1, 5);
  });

  it('BN makes the spectrum independent of the weight scale (eigenvalues equal to rel 1e-3)', async () => {
    const a = await computeLab({ ...base, batchNorm: true, scale: 1 });
    const b = await computeLab({ ...base, batchNorm: true, scale: 10 });
    expect(maxAbsDiff(a.eigenvalues, b.eigenvalues) / Math.max(...a.eigenvalues)).toBeLessThan(1e-3);
    // eq. 19: sigma2 = c.
    expect(a.law?.sigma2).toBe(base.nOut / base.nIn);
  });

  it('the spectrum and condition number are those of the matrix (eigenvalues checked against the trace)', async () => {
    const r = await computeLab({ ...base, nIn: 40, nOut: 80 });
    const m = await labMatrices({ ...base, nIn: 40, nOut: 80 });
    let trace = 0;
    for (let i = 0; i < 40; i++) trace += m.h[i * 40 + i];
    expect(r.eigenvalues.reduce((x, y) => x + y, 0)).toBeCloseTo(trace, 3);
    const eig = symmetricEigenvalues({ dim: 40, data: Float64Array.from(m.h) });
    expect(r.condition).toBeCloseTo(eig[39] / eig[0], 6);
    expect(r.law?.c).toBe(2);
    expect(r.ksDistance).toBeGreaterThanOrEqual(0);
  });

  it('with a small residual branch (scale 0.1, the assumption of section 3.2): identity and orthogonal skips give C near 1, non-orthogonal larger, none largest (n = 32, seeds 1-2)', async () => {
    for (const seed of [1, 2]) {
      const c = async (skip: LabSettings['skip']) =>
        (await computeLab({ ...base, nIn: 32, nOut: 32, scale: 0.1, skip, seed })).condition;
      const [none, identity, orthogonal, nonOrthogonal] = [
        await c('none'),
        await c('identity'),
        await c('orthogonal'),
        await c('non-orthogonal'),
      ];
      // Weyl: the singular values of S + W lie within ||W||_2 (~ 0.1 * 2 = 0.2) of S's, so for orthogonal S
      // C((S + W)^T (S + W)) <= (1.2 / 0.8)^2 = 2.25; bound used: 3.
      expect(identity).toBeLessThan(3);
      expect(orthogonal).toBeLessThan(3);
      expect(nonOrthogonal).toBeGreaterThan(5 * Math.max(identity, orthogonal));
      expect(none).toBeGreaterThan(nonOrthogonal);
    }
  });

  it('rejects settings it cannot compute, saying which', () => {
    expect(settingsProblem({ ...base, skip: 'identity' })).toMatch(/n_in = n_out/);
    expect(settingsProblem({ ...base, nIn: 0 })).toMatch(/n_in must be an integer/);
    expect(settingsProblem({ ...base, scale: -1 })).toMatch(/weight scale/);
  });
});
