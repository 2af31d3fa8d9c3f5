/**
 * Kolmogorov-Smirnov distance sup_x |F_n(x) - F(x)| between an empirical spectrum and a law with a point
 * mass at zero (Marchenko-Pastur for c < 1 puts 1 - c of its mass there). Computed eigenvalues of a
 * singular matrix are zero only up to rounding, so values within `zeroTolerance` of 0 count as exactly 0,
 * that is, toward the atom; without this the atom would be matched against a cloud of tiny +-1e-15 values
 * and the distance would be decided by the signs of rounding errors.
 */
export interface LawWithAtom {
  cdf(x: number): number;
  /** Mass of the point at 0 (0 when there is none). */
  atomAtZero: number;
}

export interface KsOptions {
  /** |lambda| <= zeroTolerance counts as 0. Default sqrt(eps) * max |lambda| (~1.5e-8 relative). */
  zeroTolerance?: number;
}

export interface KsResult {
  /** sup_x |F_n(x) - F(x)|. */
  distance: number;
  /** Where the supremum is attained (approached from the left when `left`). */
  at: number;
  left: boolean;
  /** Number of eigenvalues. */
  n: number;
  /** Eigenvalues counted as 0. */
  zeros: number;
  zeroTolerance: number;
}

export function ksDistance(
  eigenvalues: ArrayLike<number>,
  law: LawWithAtom,
  options: KsOptions = {},
): KsResult {
  const n = eigenvalues.length;
  if (n === 0) throw new Error('ksDistance: empty spectrum');
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(eigenvalues[i])) throw new Error('ksDistance: non-finite eigenvalue');
    maxAbs = Math.max(maxAbs, Math.abs(eigenvalues[i]));
  }
  const zeroTolerance = options.zeroTolerance ?? Math.sqrt(2 ** -52) * maxAbs;
  let zeros = 0;
  const x = Float64Array.from({ length: n }, (_, i) => {
    const v = eigenvalues[i];
    if (Math.abs(v) <= zeroTolerance) {
      zeros++;
      return 0;
    }
    return v;
  }).sort();
  // Between consecutive candidate points both F_n and F are monotone without jumps (F jumps only at 0),
  // so the supremum is attained at a candidate or approached from its left.
  const candidates = law.atomAtZero > 0 ? Float64Array.from([...x, 0]).sort() : x;
  let distance = 0;
  let at = Number.NaN;
  let left = false;
  let below = 0; // #{x_i < t}
  let upTo = 0; // #{x_i <= t}
  for (let i = 0; i < candidates.length; i++) {
    const t = candidates[i];
    if (i > 0 && t === candidates[i - 1]) continue;
    while (below < n && x[below] < t) below++;
    upTo = Math.max(upTo, below);
    while (upTo < n && x[upTo] <= t) upTo++;
    const fRight = law.cdf(t);
    const fLeft = t === 0 ? fRight - law.atomAtZero : fRight;
    const dRight = Math.abs(upTo / n - fRight);
    const dLeft = Math.abs(below / n - fLeft);
    if (dRight > distance) {
      distance = dRight;
      at = t;
      left = false;
    }
    if (dLeft > distance) {
      distance = dLeft;
      at = t;
      left = true;
    }
  }
  // Beyond the largest candidate F_n = 1, and F <= 1 increases toward 1: no larger gap there.
  return { distance, at, left, n, zeros, zeroTolerance };
}
