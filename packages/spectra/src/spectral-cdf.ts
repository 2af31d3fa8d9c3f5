/**
 * Cumulative distributions of discrete spectral measures (sum_k w_k delta(t - x_k)), and distances
 * between two of them: how far an SLQ estimate is from the exact spectrum where both exist.
 */
export interface DiscreteMeasure {
  nodes: ArrayLike<number>;
  weights: ArrayLike<number>;
}

/** The empirical measure of a spectrum: weight 1/n on each eigenvalue. */
export function empiricalMeasure(values: ArrayLike<number>): DiscreteMeasure {
  const n = values.length;
  if (n === 0) throw new Error('empiricalMeasure: no values');
  return { nodes: Float64Array.from(values), weights: new Float64Array(n).fill(1 / n) };
}

/** F(x) = sum of the weights of the nodes <= x (right-continuous). */
export function measureCdf(m: DiscreteMeasure, x: number): number {
  let s = 0;
  for (let k = 0; k < m.nodes.length; k++) if (m.nodes[k] <= x) s += m.weights[k];
  return s;
}

export interface CdfDistanceOptions {
  /** |x| <= zeroTolerance counts as 0 in both measures. Default 0. */
  zeroTolerance?: number;
}

export interface CdfDistance {
  /** Kolmogorov distance sup_x |F_a(x) - F_b(x)|. */
  ks: number;
  /** Where it is attained. */
  at: number;
  /** Wasserstein-1 distance: the integral of |F_a - F_b| (in units of the nodes). */
  wasserstein1: number;
}

/**
 * Distances between the CDFs of two discrete measures. Both are step functions that jump only at
 * nodes and are constant in between, so the supremum is attained at a node (right-continuous values)
 * and the integral is a finite sum over the merged nodes.
 *
 * A matrix that is singular up to rounding has eigenvalues of order +-1e-8 relative where it has zeros,
 * and Gauss nodes near an atom at 0 lie on either side of it by as much: the atom would then be counted
 * below or above 0 by chance. Values within `zeroTolerance` of 0 are therefore taken to be 0 in both
 * measures (the rank tolerance of the matrix is the natural choice).
 */
export function cdfDistance(
  a: DiscreteMeasure,
  b: DiscreteMeasure,
  options: CdfDistanceOptions = {},
): CdfDistance {
  const tol = options.zeroTolerance ?? 0;
  const snap = (x: number) => (Math.abs(x) <= tol ? 0 : x);
  type Jump = { x: number; dw: number };
  const jumps: Jump[] = [];
  let totalA = 0;
  let totalB = 0;
  for (let k = 0; k < a.nodes.length; k++) {
    if (!Number.isFinite(a.nodes[k])) throw new Error('cdfDistance: non-finite node');
    jumps.push({ x: snap(a.nodes[k]), dw: a.weights[k] });
    totalA += a.weights[k];
  }
  for (let k = 0; k < b.nodes.length; k++) {
    if (!Number.isFinite(b.nodes[k])) throw new Error('cdfDistance: non-finite node');
    jumps.push({ x: snap(b.nodes[k]), dw: -b.weights[k] });
    totalB += b.weights[k];
  }
  if (Math.abs(totalA - 1) > 1e-9 || Math.abs(totalB - 1) > 1e-9)
    throw new Error(`cdfDistance: total weights ${totalA} and ${totalB}, not 1`);
  jumps.sort((p, q) => p.x - q.x);
  // diff = F_a - F_b, accumulated through the sorted jumps; it holds on [x_i, x_{i+1}).
  let diff = 0;
  let ks = 0;
  let at = Number.NaN;
  let w1 = 0;
  for (let i = 0; i < jumps.length; i++) {
    diff += jumps[i].dw;
    if (i + 1 < jumps.length && jumps[i + 1].x === jumps[i].x) continue;
    if (Math.abs(diff) > ks) {
      ks = Math.abs(diff);
      at = jumps[i].x;
    }
    if (i + 1 < jumps.length) w1 += Math.abs(diff) * (jumps[i + 1].x - jumps[i].x);
  }
  return { ks, at, wasserstein1: w1 };
}
