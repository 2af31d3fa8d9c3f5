/**
 * The Marchenko-Pastur law exactly as printed in eq. (10)-(11) of the paper, for the spectrum of the
 * local Hessian H_z = W^T W (eq. 8) of a dense block with W of size n_b x n_{b-1}:
 *
 *   c = n_b / n_{b-1},   c_+- = sigma2 (1 +- sqrt(c))^2 / c,
 *   d nu_2 / d lambda = c / (2 pi sigma2) * sqrt((c_+ - lambda)(lambda - c_-)) / lambda  on [c_-, c_+],
 *   nu = (1 - c) delta_0 + nu_2 for c <= 1, nu = nu_2 for c > 1.
 *
 * Convention (the paper says "variance sigma^2" without saying of what): these formulas are the limit
 * law of the eigenvalues of W^T W when the entries of W have variance sigma2 / n_b, i.e. sigma2 is
 * n_b times the entry variance. (Checked numerically: n_b = 256, n_{b-1} = 512, sigma2 = 2 gives edges
 * 0.37 and 11.3 against the printed 0.34 and 11.7; with entry variance sigma2 the edges would be n_b
 * times larger.) Eq. (19), the BN case, is sigma2 = c: c_+- = (1 +- sqrt(c))^2 and prefactor 1 / (2 pi).
 * For c = 1, c_- = 0 and the density has an integrable 1 / sqrt(lambda) singularity at 0.
 */
export interface MarchenkoPasturParams {
  /** n_b / n_{b-1} (outputs over inputs of the block). */
  c: number;
  /** n_b times the variance of the entries of W (see the convention above). */
  sigma2: number;
}

export interface MarchenkoPasturLaw {
  readonly c: number;
  readonly sigma2: number;
  /** c_- of eq. (11). */
  readonly lower: number;
  /** c_+ of eq. (11). */
  readonly upper: number;
  /** Mass of the point at zero, max(0, 1 - c). */
  readonly atomAtZero: number;
  /** d nu_2 / d lambda of eq. (11): the continuous part only (it integrates to 1 - atomAtZero). */
  density(lambda: number): number;
  /** nu((-inf, lambda]), atom included: 0 below 0, atomAtZero at 0, 1 from c_+ on. */
  cdf(lambda: number): number;
}

/** Marchenko-Pastur law of eq. (10)-(11) with the convention stated above. */
export function marchenkoPastur({ c, sigma2 }: MarchenkoPasturParams): MarchenkoPasturLaw {
  if (!(c > 0) || !Number.isFinite(c)) throw new Error(`marchenkoPastur: c must be > 0 and finite, got ${c}`);
  if (!(sigma2 > 0) || !Number.isFinite(sigma2)) {
    throw new Error(`marchenkoPastur: sigma2 must be > 0 and finite, got ${sigma2}`);
  }
  const sc = Math.sqrt(c);
  const upper = (sigma2 * (1 + sc) ** 2) / c;
  const lower = (sigma2 * (1 - sc) ** 2) / c;
  const atomAtZero = Math.max(0, 1 - c);
  const prefactor = c / (2 * Math.PI * sigma2);
  const mid = (upper + lower) / 2;
  const half = (upper - lower) / 2;
  const geo = Math.sqrt(upper * lower);
  const ratio = lower > 0 ? Math.sqrt(upper / lower) : Number.POSITIVE_INFINITY;

  const density = (lambda: number): number => {
    if (!(lambda > lower && lambda < upper)) return 0;
    return (prefactor * Math.sqrt((upper - lambda) * (lambda - lower))) / lambda;
  };

  // Closed form of the integral of eq. (11) from c_- to lambda. With lambda = mid - half cos(theta),
  // theta in [0, pi], the integrand becomes prefactor * half^2 sin^2(theta) / lambda(theta), whose
  // antiderivative is prefactor * (half sin(theta) + mid theta - 2 geo atan(ratio tan(theta / 2))).
  // (Its value at theta = pi, prefactor * pi * (mid - geo), is min(c, 1) = 1 - atomAtZero.)
  const continuousCdf = (lambda: number): number => {
    if (lambda <= lower) return 0;
    if (lambda >= upper) return 1 - atomAtZero;
    const cosT = Math.min(1, Math.max(-1, (mid - lambda) / half));
    const theta = Math.acos(cosT);
    const sinT = Math.sqrt(Math.max(0, 1 - cosT * cosT));
    const last = geo > 0 ? 2 * geo * Math.atan(ratio * Math.tan(theta / 2)) : 0;
    const value = prefactor * (half * sinT + mid * theta - last);
    return Math.min(1 - atomAtZero, Math.max(0, value));
  };

  const cdf = (lambda: number): number => {
    if (Number.isNaN(lambda)) return Number.NaN;
    if (lambda < 0) return 0;
    return atomAtZero + continuousCdf(lambda);
  };

  return { c, sigma2, lower, upper, atomAtZero, density, cdf };
}

/**
 * The law for H_z = W^T W of a dense block without BN whose n_out x n_in weight entries have variance
 * `variance`: c = n_out / n_in, sigma2 = n_out * variance (eq. 10-11 under the convention above).
 */
export function marchenkoPasturForDense(dims: {
  nOut: number;
  nIn: number;
  variance: number;
}): MarchenkoPasturLaw {
  return marchenkoPastur({ c: dims.nOut / dims.nIn, sigma2: dims.nOut * dims.variance });
}

/** Eq. (19), a dense block followed by BN: eq. (11) with sigma2 = c, whatever the weight variance. */
export function marchenkoPasturForBatchNorm(dims: { nOut: number; nIn: number }): MarchenkoPasturLaw {
  const c = dims.nOut / dims.nIn;
  return marchenkoPastur({ c, sigma2: c });
}
