/**
 * Spectra of the local Hessians for analyze: every eigenvalue of a small operator (made explicit), the
 * extreme Ritz values and the SLQ density of a large one, with condition numbers under an explicit rank
 * tolerance. Small operators get an SLQ density too, with its distance to their exact eigenvalues.
 * Products are read back asynchronously (`applyAsync`) on every backend: WebGPU cannot read synchronously
 * in Node, and the async forms give the sync forms' numbers on the others.
 */
import { type LocalHessianOperator, operatorTraceAsync } from '@bmp/backmatching';
import type { Spectrum } from '@bmp/runlog/node';
import {
  asyncOperator,
  conditionFromEigenvalues,
  denseOperator,
  type LanczosResult,
  lanczosAsync,
  operatorToMatrixAsync,
  symmetricEigenvalues,
} from '@bmp/spectra';
import { type DensitySettings, densityRecord, RITZ_TOL, slqWithExtremes } from './analyze-density';

export interface SpectrumSettings extends DensitySettings {
  maxDenseDim: number;
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
function lanczosSpectrum(matrix: string, dim: number, r: LanczosResult, k: number): Spectrum {
  const values = r.values;
  const top = Math.max(...Array.from(values, Math.abs));
  const rankTolerance = dim * EPS32 * top;
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
    dimension: dim,
    eigenvalues: {
      min: values[0],
      max: values[values.length - 1],
      count: values.length,
      method: 'lanczos',
      eigenvalues: Array.from(values),
      matVecs: r.matvecs,
      residuals: Array.from(r.residuals),
      convergedValues: Array.from(r.residuals, (x) => x <= RITZ_TOL * top),
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
      rank: zeros > 0 ? dim - 1 : dim,
      rankIsUpperBound: zeros > 0,
      sigmaMax,
      ...(Number.isFinite(sigmaMin) ? { sigmaMin } : {}),
      converged: r.converged,
    },
  };
}

export interface SpectrumResult {
  spectrum: Spectrum;
  trace: number;
  traceMethod: 'exact' | 'hutchinson';
  probes?: number;
}

export async function spectrumOf(
  matrix: string,
  op: LocalHessianOperator,
  o: SpectrumSettings,
): Promise<SpectrumResult> {
  if (op.dim <= o.maxDenseDim) {
    const m = await operatorToMatrixAsync(op);
    const d = denseSpectrum(matrix, m.dim, m.data, true);
    if (o.slqProbes > 0) {
      // The same SLQ as above --max-dense-dim, checked against the exact eigenvalues. Its products are
      // taken with the explicit matrix just formed (float64, symmetrised): the same operator without
      // paying for autodiff products again (test/analyze-slq.test.ts also runs it on the operator).
      const sym = Float64Array.from(m.data);
      for (let i = 0; i < m.dim; i++)
        for (let j = 0; j < i; j++)
          sym[i * m.dim + j] = sym[j * m.dim + i] = 0.5 * (m.data[i * m.dim + j] + m.data[j * m.dim + i]);
      const r = await slqWithExtremes(asyncOperator(denseOperator(sym, m.dim)), { ...o, traceProbes: 0 });
      d.spectrum.eigenvalues.density = densityRecord(r, o, d.spectrum.condition.rankTolerance, d.eigenvalues);
    }
    return { spectrum: d.spectrum, trace: d.trace, traceMethod: 'exact' };
  }
  if (o.slqProbes === 0) {
    // --slq-probes 0: extremes and Hutchinson only (Gaussian Lanczos start, as before SLQ).
    const r = await lanczosAsync(op, {
      k: o.lanczosK,
      which: 'both',
      tol: RITZ_TOL,
      maxSteps: o.lanczosSteps,
      seed: o.seed,
    });
    const spectrum = lanczosSpectrum(matrix, op.dim, r, o.lanczosK);
    const t = await operatorTraceAsync(op, { exactMaxDim: 0, probes: o.traceProbes, seed: o.seed });
    return {
      spectrum: { ...spectrum, trace: { value: t.trace, method: t.method, standardError: t.standardError } },
      trace: t.trace,
      traceMethod: 'hutchinson',
      probes: o.traceProbes,
    };
  }
  const r = await slqWithExtremes(op, o);
  const spectrum = lanczosSpectrum(matrix, op.dim, r.extremes, o.lanczosK);
  spectrum.eigenvalues.density = densityRecord(r, o, spectrum.condition.rankTolerance);
  const t = r.trace;
  return {
    spectrum: {
      ...spectrum,
      trace: {
        value: t.value,
        method: 'hutchinson',
        standardError: t.standardError,
        probes: t.probes,
        products: t.products,
        note: `the first ${Math.min(o.slqProbes, t.probes)} probes are the SLQ probes (same vectors, no extra products)`,
      },
    },
    trace: t.value,
    traceMethod: 'hutchinson',
    probes: t.probes,
  };
}
