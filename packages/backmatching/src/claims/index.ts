import type { ClaimCheck } from './claim-check';
import { checkMarchenkoPastur } from './marchenko-pastur';
import { checkOrthogonalWeights } from './orthogonal-weights';
import { checkRemark1Counterexample, checkRemark1Random } from './remark1';
import { checkRemark3 } from './remark3';
import { checkNonOrthogonalSkip, checkOrthogonalSkip, checkSkipLowersCondition } from './skip-connections';
import { checkNoBatchNormScaling, checkRemark2 } from './weight-scaling';

export { type ClaimCheck, claimCheck, meets } from './claim-check';
export {
  checkMarchenkoPastur,
  gaussianHzSpectrum,
  type MarchenkoPasturCheckOptions,
  MP_KS_BOUND,
} from './marchenko-pastur';
export { checkOrthogonalWeights, orthogonalHzSpectrum } from './orthogonal-weights';
export {
  checkRemark1Counterexample,
  checkRemark1Random,
  type Remark1RandomOptions,
  type Remark1Structure,
  randomRemark1Case,
} from './remark1';
export { checkRemark3, type Remark3Setup, remark3Ratios } from './remark3';
export {
  checkNonOrthogonalSkip,
  checkOrthogonalSkip,
  checkSkipLowersCondition,
  type SkipSetup,
  type SkipSetupOptions,
  skipSetup,
} from './skip-connections';
export {
  checkNoBatchNormScaling,
  checkRemark2,
  hzSpectraUnderScaling,
  type ScalingSetup,
} from './weight-scaling';

export interface PaperClaimsOptions {
  /** Base seed; each check derives its own from it. Default 2018. */
  seed?: number;
  /** Called before each check with its name, its index and the number of checks. */
  onProgress?: (name: string, i: number, n: number) => void;
}

/** The checks in report order: [name, run(seed)]. */
export const PAPER_CLAIMS: readonly (readonly [string, (seed: number) => ClaimCheck])[] = [
  ['marchenko-pastur-gaussian-weights', (seed) => checkMarchenkoPastur({ seed })],
  ['orthogonal-weights-eigenvalues-0-1', (seed) => checkOrthogonalWeights({ seed })],
  ['remark2-bn-scale-invariance', (seed) => checkRemark2({ seed })],
  ['no-bn-spectrum-scales-with-sigma2', (seed) => checkNoBatchNormScaling({ seed })],
  ['skip-connection-lowers-condition', (seed) => checkSkipLowersCondition({ seed })],
  ['orthogonal-skip-matches-identity', (seed) => checkOrthogonalSkip({ seed })],
  ['non-orthogonal-skip-is-worse', (seed) => checkNonOrthogonalSkip({ seed })],
  ['remark3-expected-diag-hw', (seed) => checkRemark3({ seed })],
  ['remark1-corrected-random-matrices', (seed) => checkRemark1Random({ seed })],
  ['remark1-printed-counterexample-caught', () => checkRemark1Counterexample()],
];

/**
 * Runs the paper's claims (section 3) as checks with fixed sizes and seeds and returns one result per
 * claim, in the shape of `claimCheckSchema` of `@bmp/runlog` (analysis.json's `claims`). Uses the
 * current tfjs backend for the autodiff Hessians (float32); a few seconds on the cpu backend. Yields to
 * the event loop between checks so that progress can be shown. Leaks no tensors.
 */
export async function runPaperClaims(options: PaperClaimsOptions = {}): Promise<ClaimCheck[]> {
  const base = options.seed ?? 2018;
  if (!Number.isInteger(base)) throw new Error(`runPaperClaims: seed must be an integer, got ${base}`);
  const out: ClaimCheck[] = [];
  for (let i = 0; i < PAPER_CLAIMS.length; i++) {
    const [name, run] = PAPER_CLAIMS[i];
    options.onProgress?.(name, i, PAPER_CLAIMS.length);
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    // 1000 apart: the checks add small offsets (0-3) to their seed for their separate draws.
    const check = run(base + 1000 * i);
    if (check.name !== name) throw new Error(`claim ${name} reported itself as ${check.name}`);
    out.push(check);
  }
  return out;
}
