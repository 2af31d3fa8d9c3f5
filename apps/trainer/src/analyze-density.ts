/**
 * The spectral density of a local Hessian for analyze, by stochastic Lanczos quadrature (SLQ). The run
 * that finds the Lanczos extremes starts from SLQ's first Rademacher probe, so it is that probe's Gauss
 * rule for free; the other probes add `steps` products each, and their v^T H v are also the first
 * samples of the Hutchinson trace (same seed, same vectors), so the trace only pays for the rest.
 */
import type { SlqDensity } from '@bmp/runlog/node';
import {
  type AsyncSymmetricOperator,
  type CdfDistance,
  cdfDistance,
  empiricalMeasure,
  hutchinsonTraceAsync,
  type LanczosResult,
  lanczosAsync,
  mulberry32,
  probeMeasures,
  rademacherVector,
  type SpectralDensityEstimate,
  slqProbeQuadraticForms,
  smoothedDensity,
  stochasticLanczosQuadratureAsync,
} from '@bmp/spectra';

export interface DensitySettings {
  lanczosK: number;
  lanczosSteps: number;
  slqProbes: number;
  slqSteps: number;
  traceProbes: number;
  seed: number;
}

/** Relative residual under which a Ritz value counts as converged (as before SLQ). */
export const RITZ_TOL = 1e-5;

export interface SlqRun {
  extremes: LanczosResult;
  estimate: SpectralDensityEstimate;
  /** Hutchinson's estimate over `traceProbes` probes, the first `slqProbes` of them from SLQ. */
  trace: { value: number; standardError: number; probes: number; products: number };
}

/** Extremes, SLQ probes and the Hutchinson trace of one operator, sharing products where they can. */
export async function slqWithExtremes(op: AsyncSymmetricOperator, o: DensitySettings): Promise<SlqRun> {
  const start = rademacherVector(op.dim, mulberry32(o.seed));
  const extremes = await lanczosAsync(op, {
    k: o.lanczosK,
    which: 'both',
    tol: RITZ_TOL,
    maxSteps: o.lanczosSteps,
    start,
    seed: o.seed,
    quadrature: true,
  });
  const estimate = await stochasticLanczosQuadratureAsync(op, {
    probes: o.slqProbes,
    steps: o.slqSteps,
    seed: o.seed,
    first: extremes.quadrature,
  });
  const known = slqProbeQuadraticForms(estimate);
  const h = await hutchinsonTraceAsync(op, {
    probes: Math.max(o.traceProbes, o.slqProbes),
    seed: o.seed,
    known,
  });
  return {
    extremes,
    estimate,
    trace: { value: h.trace, standardError: h.standardError, probes: h.probes, products: h.matvecs },
  };
}

/** The SLQ estimate as stored in analysis.json: every probe's rule, and the density drawn from it. */
export function densityRecord(
  r: SlqRun,
  o: DensitySettings,
  zeroTolerance: number,
  exact?: Float64Array,
): SlqDensity {
  const e = r.estimate;
  const d = smoothedDensity(probeMeasures(e), { zeroTolerance });
  const check = exact ? distanceToExact(e, exact, zeroTolerance) : null;
  return {
    method: 'slq',
    probes: e.probes,
    lanczosSteps: e.steps,
    firstProbeSteps: r.extremes.steps,
    seed: o.seed,
    matVecs: e.matvecs,
    nodes: Array.from(e.nodes),
    weights: Array.from(e.weights),
    probeOffsets: Array.from(e.probeOffsets),
    broadening: d.sigma,
    scale: d.scale,
    grid: d.grid,
    density: d.density,
    ...(d.standardError ? { standardError: d.standardError } : {}),
    zeroTolerance,
    zeroMass: d.zeroMass,
    negativeMass: d.negativeMass,
    ...(check ? { exactDistance: check } : {}),
  };
}

/**
 * How far the SLQ estimate is from the exact spectrum: the largest difference of the CDFs (KS), where,
 * and the Wasserstein-1 distance relative to the spectrum's range (values within the rank tolerance of 0
 * count as 0 in both).
 */
export function distanceToExact(
  e: SpectralDensityEstimate,
  exact: Float64Array,
  zeroTolerance: number,
): { ks: number; at: number; wasserstein1Relative: number; zeroTolerance: number } {
  const d: CdfDistance = cdfDistance(e, empiricalMeasure(exact), { zeroTolerance });
  const range = exact[exact.length - 1] - exact[0];
  return {
    ks: d.ks,
    at: d.at,
    wasserstein1Relative: range > 0 ? d.wasserstein1 / range : 0,
    zeroTolerance,
  };
}
