import type { SymmetricOperator } from './operator';
import { mulberry32, rademacherVector } from './random';

export interface HutchinsonOptions {
  /** Rademacher probes (= products). Default 32. */
  probes?: number;
  seed?: number;
}

export interface HutchinsonEstimate {
  /** Mean of v^T A v over the probes. */
  trace: number;
  /** Standard error of that mean (sample standard deviation / sqrt(probes)); NaN for one probe. */
  standardError: number;
  probes: number;
  matvecs: number;
}

/**
 * Hutchinson's trace estimator: E[v^T A v] = tr(A) for Rademacher v (entries +-1), whose variance
 * 2 (||A||_F^2 - sum_i a_ii^2) is the smallest among i.i.d. probe distributions. Used to compare
 * trace/dimension of a large local Hessian with eq. 24's scalars without forming it.
 */
export function hutchinsonTrace(op: SymmetricOperator, options: HutchinsonOptions = {}): HutchinsonEstimate {
  const probes = options.probes ?? 32;
  if (!(probes >= 1)) throw new Error(`hutchinsonTrace: probes must be >= 1, got ${probes}`);
  const rand = mulberry32(options.seed ?? 0);
  const samples = new Float64Array(probes);
  for (let p = 0; p < probes; p++) {
    const v = rademacherVector(op.dim, rand);
    const av = op.apply(v);
    let s = 0;
    for (let i = 0; i < op.dim; i++) s += v[i] * av[i];
    samples[p] = s;
  }
  let mean = 0;
  for (const s of samples) mean += s / probes;
  let ss = 0;
  for (const s of samples) ss += (s - mean) ** 2;
  const standardError = probes > 1 ? Math.sqrt(ss / (probes - 1) / probes) : Number.NaN;
  return { trace: mean, standardError, probes, matvecs: probes };
}
