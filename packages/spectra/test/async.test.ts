import { describe, expect, it } from 'vitest';
import {
  type AsyncSymmetricOperator,
  asyncOperator,
  denseOperator,
  gaussianVector,
  hutchinsonTrace,
  hutchinsonTraceAsync,
  lanczos,
  lanczosAsync,
  lanczosQuadrature,
  lanczosQuadratureAsync,
  lanczosRun,
  lanczosRunAsync,
  matrixWithSpectrum,
  mulberry32,
  operatorToMatrix,
  operatorToMatrixAsync,
  randomOrthogonal,
  stochasticLanczosQuadrature,
  stochasticLanczosQuadratureAsync,
} from '../src';

// The async forms drive the same generator as the sync ones, so on the same products they must give the
// same bits (toEqual on Float64Arrays compares exactly), whatever the products' timing.
const n = 40;
const lambda = Float64Array.from({ length: n }, (_, i) => (i < 5 ? 0 : 0.1 + i * i * 0.01));
const A = denseOperator(matrixWithSpectrum(lambda, randomOrthogonal(n, mulberry32(7))), n);

/** Products resolved on a later macrotask, as a GPU readback is. */
const delayed: AsyncSymmetricOperator = {
  dim: n,
  applyAsync: (v) => new Promise((resolve) => setTimeout(() => resolve(A.apply(v)), 0)),
};

describe('async forms (products awaited one at a time) give the sync results bit for bit', () => {
  it('lanczos and lanczosRun, with restarts after breakdown and Ritz vectors', async () => {
    for (const options of [
      { k: 3, which: 'both' as const, tol: 1e-10, seed: 2 },
      { k: 4, which: 'smallest' as const, maxSteps: n, seed: 5, vectors: true },
    ]) {
      const want = lanczos(A, options);
      expect(await lanczosAsync(delayed, options)).toEqual(want);
      expect(await lanczosAsync(asyncOperator(A), options)).toEqual(want);
    }
    const start = gaussianVector(n, mulberry32(1));
    expect(await lanczosRunAsync(delayed, start, 12)).toEqual(lanczosRun(A, start, 12));
  });

  it('hutchinsonTrace, lanczosQuadrature, stochasticLanczosQuadrature and operatorToMatrix', async () => {
    expect(await hutchinsonTraceAsync(delayed, { probes: 5, seed: 3 })).toEqual(
      hutchinsonTrace(A, { probes: 5, seed: 3 }),
    );
    const v = gaussianVector(n, mulberry32(4));
    expect(await lanczosQuadratureAsync(delayed, v, 8)).toEqual(lanczosQuadrature(A, v, 8));
    expect(await stochasticLanczosQuadratureAsync(delayed, { probes: 3, steps: 7, seed: 9 })).toEqual(
      stochasticLanczosQuadrature(A, { probes: 3, steps: 7, seed: 9 }),
    );
    expect(await operatorToMatrixAsync(delayed)).toEqual(operatorToMatrix(A));
  });

  it('reject where the sync forms throw', async () => {
    await expect(lanczosAsync(delayed, { k: 0 })).rejects.toThrow('k must be >= 1');
    await expect(hutchinsonTraceAsync(delayed, { probes: 0 })).rejects.toThrow('probes must be >= 1');
    const wrong: AsyncSymmetricOperator = { dim: n, applyAsync: async () => new Float64Array(3) };
    await expect(lanczosAsync(wrong)).rejects.toThrow('operator returned 3 entries');
  });
});
