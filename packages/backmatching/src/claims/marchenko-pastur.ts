import { gaussianMatrix, gram, ksDistance, marchenkoPastur, symmetricEigenvalues } from '@bmp/spectra';
import { type ClaimCheck, claimCheck, round } from './claim-check';

/**
 * Ascending eigenvalues of H_z = W^T W (eq. 8, one sample) for W of n_b x n_{b-1} = nOut x nIn with
 * i.i.d. N(0, variance) entries (float64, closed form; the autodiff H_z equals it, see the tests).
 */
export function gaussianHzSpectrum(nOut: number, nIn: number, variance: number, seed: number): Float64Array {
  const w = gaussianMatrix(nOut, nIn, variance, seed);
  return symmetricEigenvalues({ dim: nIn, data: gram(w, nOut, nIn) });
}

export interface MarchenkoPasturCheckOptions {
  seed?: number;
  /** n_{b-1}; default 400. */
  nIn?: number;
  sigma2?: number;
  /**
   * Entry variance of W. Default sigma2 / n_b, the convention under which eq. (11) as printed holds;
   * 'sigma2/nIn' is the other common one (the check must fail with it for c != 1).
   */
  entryVariance?: 'sigma2/nOut' | 'sigma2/nIn';
}

/** KS distance bound: finite-n deviation is O(1/n) in the bulk; 0.006-0.008 observed at n = 400. */
export const MP_KS_BOUND = 0.03;

/** Gaussian weights give an H_z spectrum matching Marchenko-Pastur (eq. 10-11), c in {0.5, 1, 2}. */
export function checkMarchenkoPastur(options: MarchenkoPasturCheckOptions = {}): ClaimCheck {
  const seed = options.seed ?? 2018;
  const nIn = options.nIn ?? 400;
  const sigma2 = options.sigma2 ?? 2;
  const convention = options.entryVariance ?? 'sigma2/nOut';
  const perC = [0.5, 1, 2].map((c, k) => {
    const nOut = Math.round(c * nIn);
    const variance = convention === 'sigma2/nOut' ? sigma2 / nOut : sigma2 / nIn;
    const ev = gaussianHzSpectrum(nOut, nIn, variance, seed + k);
    const law = marchenkoPastur({ c: nOut / nIn, sigma2 });
    const ks = ksDistance(ev, law);
    return {
      c,
      nOut,
      ksDistance: round(ks.distance),
      zeros: ks.zeros,
      lawLower: round(law.lower),
      lawUpper: round(law.upper),
      atomAtZero: law.atomAtZero,
      largest: round(ev[ev.length - 1]),
    };
  });
  const worst = Math.max(...perC.map((p) => p.ksDistance));
  return claimCheck({
    name: 'marchenko-pastur-gaussian-weights',
    measured: worst,
    bound: MP_KS_BOUND,
    relation: '<',
    reference: 'Section 3.1, eq. (8), (10)-(11)',
    description:
      `H_z = W^T W of a dense block with N(0, ${convention}) weights, n_{b-1} = ${nIn}, sigma2 = ${sigma2}: ` +
      'the largest Kolmogorov-Smirnov distance (point mass at 0 included) to the Marchenko-Pastur law of ' +
      'eq. (10)-(11) over c = n_b / n_{b-1} in {0.5, 1, 2}.',
    seed,
    details: { sizes: { nIn, nOutMin: perC[0].nOut, nOutMax: perC[2].nOut }, sigma2, convention, perC },
  });
}
