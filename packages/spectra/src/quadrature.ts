import { lanczosRunSteps } from './lanczos';
import type { AsyncSymmetricOperator, SymmetricOperator } from './operator';
import { type ProductSteps, runProducts, runProductsAsync } from './products';
import { mulberry32, rademacherVector } from './random';
import { tridiagonalEigen } from './tridiagonal';

/**
 * Gauss quadrature of the spectral measure seen from one vector: after m Lanczos steps from v, the
 * eigenvalues theta_k of T_m (nodes) and the squared first components tau_k of its eigenvectors
 * (weights, summing to 1) satisfy sum_k tau_k f(theta_k) = v^T f(A) v / v^T v exactly for every
 * polynomial f of degree <= 2m - 1 (Golub-Meurant). The building block of stochastic Lanczos quadrature.
 */
export interface Quadrature {
  nodes: Float64Array;
  weights: Float64Array;
  matvecs: number;
}

export function lanczosQuadrature(op: SymmetricOperator, v: Float64Array, steps: number): Quadrature {
  return runProducts(quadratureSteps(op.dim, v, steps), (x) => op.apply(x));
}

/** `lanczosQuadrature` for an asynchronous operator (products awaited one at a time). */
export function lanczosQuadratureAsync(
  op: AsyncSymmetricOperator,
  v: Float64Array,
  steps: number,
): Promise<Quadrature> {
  return runProductsAsync(quadratureSteps(op.dim, v, steps), (x) => op.applyAsync(x));
}

function* quadratureSteps(n: number, v: Float64Array, steps: number): ProductSteps<Quadrature> {
  // No restart: a breakdown means the Krylov space is invariant and the rule is already exact.
  const run = yield* lanczosRunSteps(n, v, steps);
  const m = run.steps;
  const { values, rows } = tridiagonalEigen(run.alpha, run.beta.subarray(0, m - 1), [0]);
  return { nodes: values, weights: Float64Array.from(rows[0], (x) => x * x), matvecs: run.matvecs };
}

export interface SlqOptions {
  /** Rademacher probe vectors. Default 16. */
  probes?: number;
  /** Lanczos steps per probe (nodes per probe). Default 30. */
  steps?: number;
  /** Seed of the probes. Default 0. */
  seed?: number;
  /**
   * The Gauss rule of the first probe, already computed by the caller from its vector
   * `rademacherVector(dim, mulberry32(seed))` (e.g. by `lanczos` with that `start` and `quadrature: true`,
   * which also finds the extremes): used as it is, so that run serves both. Its node count may differ
   * from `steps`. The other probes continue the same random stream.
   */
  first?: Pick<Quadrature, 'nodes' | 'weights' | 'matvecs'>;
}

/**
 * An estimate of the spectral density phi(t) = (1/n) sum_i delta(t - lambda_i) as a discrete measure:
 * all probes' quadrature nodes with their weights divided by the number of probes (total weight 1).
 * Plain data, so it can go into a JSON report as it is.
 */
export interface SpectralDensityEstimate {
  dim: number;
  probes: number;
  steps: number;
  matvecs: number;
  nodes: Float64Array;
  weights: Float64Array;
  /** Probe p's nodes are nodes[probeOffsets[p] .. probeOffsets[p + 1]) (length probes + 1). */
  probeOffsets: Uint32Array;
}

/**
 * Stochastic Lanczos quadrature (Ubaru, Chen and Saad, SIAM J. Matrix Anal. Appl. 38(4), 2017; Lin, Saad
 * and Yang 2016 for densities): for Rademacher v, E[v^T f(A) v] = tr f(A), and each v^T f(A) v / n is
 * replaced by the m-node Gauss rule above. Costs probes * steps products. Smooth it with
 * `densityOnGrid`, or integrate a function with `slqTrace`.
 */
export function stochasticLanczosQuadrature(
  op: SymmetricOperator,
  options: SlqOptions = {},
): SpectralDensityEstimate {
  return runProducts(slqSteps(op.dim, options), (v) => op.apply(v));
}

/** `stochasticLanczosQuadrature` for an asynchronous operator (products awaited one at a time). */
export function stochasticLanczosQuadratureAsync(
  op: AsyncSymmetricOperator,
  options: SlqOptions = {},
): Promise<SpectralDensityEstimate> {
  return runProductsAsync(slqSteps(op.dim, options), (v) => op.applyAsync(v));
}

function* slqSteps(dim: number, options: SlqOptions): ProductSteps<SpectralDensityEstimate> {
  const probes = options.probes ?? 16;
  const steps = Math.min(options.steps ?? 30, dim);
  if (!(probes >= 1) || !(steps >= 1))
    throw new Error('stochasticLanczosQuadrature: probes and steps must be >= 1');
  const rand = mulberry32(options.seed ?? 0);
  const nodes: number[] = [];
  const weights: number[] = [];
  const offsets = [0];
  let matvecs = 0;
  for (let p = 0; p < probes; p++) {
    const v = rademacherVector(dim, rand);
    const q = p === 0 && options.first ? options.first : yield* quadratureSteps(dim, v, steps);
    matvecs += q.matvecs;
    for (let k = 0; k < q.nodes.length; k++) {
      nodes.push(q.nodes[k]);
      weights.push(q.weights[k] / probes);
    }
    offsets.push(nodes.length);
  }
  return {
    dim,
    probes,
    steps,
    matvecs,
    nodes: Float64Array.from(nodes),
    weights: Float64Array.from(weights),
    probeOffsets: Uint32Array.from(offsets),
  };
}

/**
 * The estimate smoothed with a Gaussian kernel of standard deviation `sigma`, on `grid`:
 * phi_sigma(t) = sum_k w_k N(t; theta_k, sigma^2). It integrates to 1 over the real line.
 */
export function densityOnGrid(
  estimate: Pick<SpectralDensityEstimate, 'nodes' | 'weights'>,
  grid: ArrayLike<number>,
  sigma: number,
): Float64Array {
  if (!(sigma > 0)) throw new Error(`densityOnGrid: sigma must be > 0, got ${sigma}`);
  const out = new Float64Array(grid.length);
  const c = 1 / (sigma * Math.sqrt(2 * Math.PI));
  for (let g = 0; g < grid.length; g++) {
    let s = 0;
    for (let k = 0; k < estimate.nodes.length; k++) {
      const z = (grid[g] - estimate.nodes[k]) / sigma;
      s += estimate.weights[k] * Math.exp(-0.5 * z * z);
    }
    out[g] = c * s;
  }
  return out;
}

/** tr f(A) ~ n * sum_k w_k f(theta_k) (e.g. f = log for log-determinants, f = x for the trace). */
export function slqTrace(
  estimate: Pick<SpectralDensityEstimate, 'nodes' | 'weights' | 'dim'>,
  f: (x: number) => number,
): number {
  let s = 0;
  for (let k = 0; k < estimate.nodes.length; k++) s += estimate.weights[k] * f(estimate.nodes[k]);
  return estimate.dim * s;
}

/**
 * v_p^T A v_p of each probe, from its rule alone: the rule is exact for f(x) = x, and a Rademacher v has
 * v^T v = dim. These are Hutchinson's samples for the same vectors (`HutchinsonOptions.known`).
 */
export function slqProbeQuadraticForms(
  e: Pick<SpectralDensityEstimate, 'nodes' | 'weights' | 'probeOffsets' | 'probes' | 'dim'>,
): Float64Array {
  return Float64Array.from({ length: e.probes }, (_, p) => {
    let s = 0;
    for (let k = e.probeOffsets[p]; k < e.probeOffsets[p + 1]; k++) s += e.weights[k] * e.nodes[k];
    return e.dim * e.probes * s;
  });
}
