// The Hessian lab's compute functions on WebGPU (tfjs-backend-webgpu on Dawn in Node, llvmpipe on CI)
// against the cpu backend, same settings and seeds. The matrices are float32 products on both; the GPU
// sums in another order, so H differs by float32 rounding: |H_gpu - H_cpu| <= 1e-5 * max|H| entry-wise and
// the eigenvalues (Weyl: shifted by at most ||H_gpu - H_cpu||_2) by <= 1e-5 * max|lambda| (measured on
// llvmpipe: at most 1.2e-7 and 5e-8, printed below). The rank, under the lab's float32 tolerance, is the
// same; the condition number agrees to relative 1e-3 (measured 1e-5: it divides by the smallest non-zero
// eigenvalue) and the KS distance to absolute 1e-3 (measured 1e-8; it moves only by the mass of the
// eigenvalues that cross the law's quantiles).
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@bmp/backends';
import { webgpuOrSkip } from '@bmp/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeLab, type LabResult, type LabSettings, labMatrices } from '../src/web/lab/compute';

let available = false;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  available = await webgpuOrSkip(() => initBackend({ prefer: 'webgpu' }), 'Hessian lab on webgpu');
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

const base: LabSettings = {
  nIn: 24,
  nOut: 16,
  batch: 32,
  init: 'gaussian',
  scale: 1,
  batchNorm: false,
  skip: 'none',
  seed: 5,
};

const cases: [string, Partial<LabSettings>][] = [
  ['dense, Gaussian W', {}],
  ['dense + BN', { batchNorm: true, scale: 3 }],
  ['orthogonal W (rank-deficient: n_out < n_in)', { init: 'orthogonal' }],
  ['orthogonal skip + BN', { nOut: 24, skip: 'orthogonal', batchNorm: true, scale: 0.1 }],
  ['non-orthogonal skip', { nOut: 24, skip: 'non-orthogonal', scale: 0.5 }],
];

async function on(backend: 'cpu' | 'webgpu', s: LabSettings) {
  await tf.setBackend(backend);
  const matrices = await labMatrices(s);
  const result = await computeLab(s);
  return { h: matrices.h, result };
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('Hessian lab on webgpu (Node, Dawn) against cpu', () => {
  it.for(cases)(
    '%s: H, eigenvalues, rank, condition number and KS distance within float32 rounding',
    async ([, patch], ctx) => {
      if (!available) return ctx.skip();
      const s = { ...base, ...patch };
      const cpu = await on('cpu', s);
      const gpu = await on('webgpu', s); // await data(): the lab never reads the GPU synchronously
      const g: LabResult = gpu.result;
      const c: LabResult = cpu.result;
      expect([c.backend, g.backend]).toEqual(['cpu', 'webgpu']);
      expect(g.tensorsAfter).toBe(g.tensorsBefore);
      let dh = 0;
      for (let i = 0; i < c.dim * c.dim; i++) dh = Math.max(dh, Math.abs(gpu.h[i] - cpu.h[i]));
      let de = 0;
      for (let i = 0; i < c.dim; i++) de = Math.max(de, Math.abs(g.eigenvalues[i] - c.eigenvalues[i]));
      const hScale = maxAbs(cpu.h);
      const eScale = maxAbs(c.eigenvalues);
      console.log(
        `lab ${JSON.stringify(patch)}: H ${(dh / hScale).toExponential(1)}, eigenvalues ${(de / eScale).toExponential(1)} ` +
          `(of the largest), C ${c.condition.toPrecision(6)} vs ${g.condition.toPrecision(6)}, KS ${c.ksDistance} vs ${g.ksDistance}`,
      );
      expect(dh).toBeLessThanOrEqual(1e-5 * hScale);
      expect(de).toBeLessThanOrEqual(1e-5 * eScale);
      expect(g.rank).toBe(c.rank);
      expect(Math.abs(g.condition - c.condition)).toBeLessThanOrEqual(1e-3 * c.condition);
      if (c.ksDistance == null) expect(g.ksDistance).toBeNull();
      else expect(Math.abs(g.ksDistance! - c.ksDistance)).toBeLessThanOrEqual(1e-3);
    },
  );
});
