import type { AsyncSymmetricOperator, SymmetricOperator } from './operator';
import { type ProductSteps, runProducts, runProductsAsync } from './products';
import { mulberry32, rademacherVector } from './random';

export interface HutchinsonOptions {
  /** Rademacher probes (= products). Default 32. */
  probes?: number;
  seed?: number;
  /**
   * v^T A v of the first probes of this seed's stream, already computed (e.g. by stochastic Lanczos
   * quadrature with the same seed: its probe p gives dim * sum_k w_k theta_k = v_p^T A v_p): their vectors
   * are drawn and skipped, so only the rest costs products and the estimate is the one of `probes` probes.
   */
  known?: ArrayLike<number>;
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
  return runProducts(hutchinsonSteps(op.dim, options), (v) => op.apply(v));
}

/** `hutchinsonTrace` for an asynchronous operator: the same probes and estimate, products awaited one by one. */
export function hutchinsonTraceAsync(
  op: AsyncSymmetricOperator,
  options: HutchinsonOptions = {},
): Promise<HutchinsonEstimate> {
  return runProductsAsync(hutchinsonSteps(op.dim, options), (v) => op.applyAsync(v));
}

function* hutchinsonSteps(dim: number, options: HutchinsonOptions): ProductSteps<HutchinsonEstimate> {
  const probes = options.probes ?? 32;
  if (!(probes >= 1)) throw new Error(`hutchinsonTrace: probes must be >= 1, got ${probes}`);
  const rand = mulberry32(options.seed ?? 0);
  const samples = new Float64Array(probes);
  for (let p = 0; p < probes; p++) {
    const v = rademacherVector(dim, rand);
    if (options.known && p < options.known.length) {
      samples[p] = options.known[p];
      continue;
    }
    const av = yield v;
    let s = 0;
    for (let i = 0; i < dim; i++) s += v[i] * av[i];
    samples[p] = s;
  }
  let mean = 0;
  for (const s of samples) mean += s / probes;
  let ss = 0;
  for (const s of samples) ss += (s - mean) ** 2;
  const standardError = probes > 1 ? Math.sqrt(ss / (probes - 1) / probes) : Number.NaN;
  return {
    trace: mean,
    standardError,
    probes,
    matvecs: probes - Math.min(probes, options.known?.length ?? 0),
  };
}
