/**
 * Spectra of the local Hessians for analyze: every eigenvalue of a small operator (made explicit), the
 * extreme Ritz values of a large one (Lanczos), with condition numbers under an explicit rank tolerance.
 * Products are read back asynchronously (`applyAsync`) on every backend: WebGPU cannot read synchronously
 * in Node, and the async forms give the sync forms' numbers on the others.
 */
import { type LocalHessianOperator, operatorTraceAsync } from '@bmp/backmatching';
import type { Spectrum } from '@bmp/runlog/node';
import {
  conditionFromEigenvalues,
  lanczosAsync,
  operatorToMatrixAsync,
  symmetricEigenvalues,
} from '@bmp/spectra';

export interface SpectrumSettings {
  maxDenseDim: number;
  lanczosK: number;
  lanczosSteps: number;
  traceProbes: number;
  seed: number;
}

/** float32 products: eigenvalues below dim * eps32 * |lambda|max are rounding, not rank (numpy's rule). */
const EPS32 = 2 ** -23;
export const HISTOGRAM_BINS = 30;

function histogram(values: Float64Array, bins = HISTOGRAM_BINS): { edges: number[]; counts: number[] } {
  const lo = values[0];
  const hi = values[values.length - 1];
  const width = hi > lo ? (hi - lo) / bins : 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  return { edges, counts };
}

/** Full spectrum of an explicit symmetric matrix (float32 products, float64 eigensolver). */
export function denseSpectrum(
  matrix: string,
  dim: number,
  data: Float64Array,
  float32: boolean,
): { spectrum: Spectrum; eigenvalues: Float64Array; trace: number } {
  // float32 autodiff products are symmetric to ~1e-7 relative; symmetricEigenvalues checks and symmetrises
  const eigenvalues = symmetricEigenvalues({ dim, data }, { symmetryTolerance: float32 ? 1e-4 : 1e-10 });
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += data[i * dim + i];
  const top = Math.max(Math.abs(eigenvalues[0]), Math.abs(eigenvalues[dim - 1]));
  const rankTolerance = dim * (float32 ? EPS32 : Number.EPSILON) * top;
  const c = conditionFromEigenvalues(eigenvalues, { rankTolerance });
  return {
    eigenvalues,
    trace,
    spectrum: {
      matrix,
      dimension: dim,
      eigenvalues: {
        min: eigenvalues[0],
        max: eigenvalues[dim - 1],
        count: dim,
        method: 'dense',
        histogram: histogram(eigenvalues),
        eigenvalues: Array.from(eigenvalues),
      },
      condition: {
        value: Number.isFinite(c.condition) ? c.condition : 0,
        rankTolerance: c.rankTolerance,
        rank: c.rank,
        sigmaMax: c.sigmaMax,
        ...(Number.isFinite(c.sigmaMin) ? { sigmaMin: c.sigmaMin } : {}),
        ...(c.rank === 0 ? { note: 'every eigenvalue is within the tolerance of 0' } : {}),
      },
    },
  };
}

/** Extreme eigenvalues by Lanczos; the condition number over the Ritz values found (see the notes). */
async function lanczosSpectrum(
  matrix: string,
  op: LocalHessianOperator,
  k: number,
  maxSteps: number,
  seed: number,
): Promise<Spectrum> {
  const r = await lanczosAsync(op, { k, which: 'both', tol: 1e-5, maxSteps, seed });
  const values = r.values;
  const top = Math.max(...Array.from(values, Math.abs));
  const rankTolerance = op.dim * EPS32 * top;
  // Only the smallest-end Ritz values say anything about lambda_min (they converge to the smallest
  // eigenvalues from above); the largest-end ones must not stand in for it.
  const smallest = Array.from(values.subarray(0, Math.min(k, values.length)));
  const zeros = smallest.filter((v) => Math.abs(v) <= rankTolerance).length;
  const above = smallest.filter((v) => Math.abs(v) > rankTolerance);
  const sigmaMax = top;
  const sigmaMin = above.length > 0 ? Math.min(...above.map(Math.abs)) : Number.NaN;
  // Every eigenvalue counted as non-zero exceeds the tolerance: when the k smallest Ritz values are all
  // at or below it, C <= lambda_max / tolerance is what is known.
  const resolved = Number.isFinite(sigmaMin);
  return {
    matrix,
    dimension: op.dim,
    eigenvalues: {
      min: values[0],
      max: values[values.length - 1],
      count: values.length,
      method: 'lanczos',
      eigenvalues: Array.from(values),
      matVecs: r.matvecs,
      residuals: Array.from(r.residuals),
      converged: r.converged,
      steps: r.steps,
    },
    condition: {
      value: resolved ? sigmaMax / sigmaMin : top > 0 ? sigmaMax / rankTolerance : 0,
      ...(resolved ? {} : { valueIsUpperBound: true }),
      rankTolerance,
      // Matrix-free: with a Ritz value at or below the tolerance the matrix is singular (rank <= dim - 1);
      // sigmaMin is the smallest small-end Ritz value above it (the smallest non-zero eigenvalue once
      // Lanczos has converged), absent when none is.
      rank: zeros > 0 ? op.dim - 1 : op.dim,
      rankIsUpperBound: zeros > 0,
      sigmaMax,
      ...(Number.isFinite(sigmaMin) ? { sigmaMin } : {}),
      converged: r.converged,
    },
  };
}

export async function spectrumOf(
  matrix: string,
  op: LocalHessianOperator,
  o: SpectrumSettings,
): Promise<{ spectrum: Spectrum; trace: number; traceMethod: 'exact' | 'hutchinson'; probes?: number }> {
  if (op.dim <= o.maxDenseDim) {
    const m = await operatorToMatrixAsync(op);
    const d = denseSpectrum(matrix, m.dim, m.data, true);
    return { spectrum: d.spectrum, trace: d.trace, traceMethod: 'exact' };
  }
  const spectrum = await lanczosSpectrum(matrix, op, o.lanczosK, o.lanczosSteps, o.seed);
  const t = await operatorTraceAsync(op, { exactMaxDim: 0, probes: o.traceProbes, seed: o.seed });
  return {
    spectrum: { ...spectrum, trace: { value: t.trace, method: t.method, standardError: t.standardError } },
    trace: t.trace,
    traceMethod: 'hutchinson',
    probes: o.traceProbes,
  };
}
