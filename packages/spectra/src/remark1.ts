import { type AbstractMatrix, Matrix } from 'ml-matrix';
import { type ConditionOptions, conditionNumber } from './condition';

/**
 * Remark 1 of the paper (section 3.2), with A = d phi_b / d z_{b-1} the Jacobian of a residual branch:
 *
 *   as printed: if a) sigma_max(A) < 1 - s for some s > 0 and b) C(A) > (1 + s) / (1 - s),
 *               then C(I + A) < C(A).
 *
 * This is false for s < 1/2. Counterexample: A = diag(-0.89, -0.70), s = 0.1: sigma_max(A) = 0.89 < 0.9
 * and C(A) = 1.27 > 1.1 / 0.9 = 1.22, yet I + A = diag(0.11, 0.30) has C(I + A) = 2.73.
 *
 * Corrected (sufficient): if sigma_max(A) <= a < 1 and C(A) > (1 + a) / (1 - a), then C(I + A) < C(A).
 * Proof: by Weyl's inequality for singular values, every singular value of I + A lies in
 * [1 - sigma_max(A), 1 + sigma_max(A)] within [1 - a, 1 + a], and 1 - a > 0, so I + A is non-singular
 * and C(I + A) <= (1 + a) / (1 - a) < C(A). The printed remark is the case a = 1 - s with the bound
 * (1 + s) / (1 - s) in b) instead of (2 - s) / s; the two agree at s = 1/2 and the printed one is the
 * larger (so b) implies the corrected b)) exactly when s >= 1/2: the printed remark holds for s >= 1/2.
 */
export interface Remark1Check {
  /** sigma_max(A). */
  sigmaMaxA: number;
  /** C(A) over non-zero singular values (NaN for A = 0). */
  conditionA: number;
  /** C(I + A). */
  conditionIPlusA: number;
  /** The threshold of assumption b): (1 + s) / (1 - s) as printed, (1 + a) / (1 - a) corrected. */
  bound: number;
  /** Assumption a) and b) separately. */
  assumptionA: boolean;
  assumptionB: boolean;
  assumptionsMet: boolean;
  /** C(I + A) < C(A). */
  conclusion: boolean;
  /** Assumptions met and conclusion false: the statement is refuted by this A. */
  counterexample: boolean;
}

type MatrixInput = AbstractMatrix | number[][];

function conditions(matrix: MatrixInput, options: ConditionOptions) {
  const m = Matrix.checkMatrix(matrix);
  if (!m.isSquare()) throw new Error(`Remark 1 needs a square A, got ${m.rows} x ${m.columns}`);
  const ca = conditionNumber(m, options);
  const ipa = Matrix.add(Matrix.eye(m.rows), m);
  const cipa = conditionNumber(ipa, options);
  return { sigmaMaxA: ca.sigmaMax, conditionA: ca.condition, conditionIPlusA: cipa.condition };
}

function check(
  c: { sigmaMaxA: number; conditionA: number; conditionIPlusA: number },
  assumptionA: boolean,
  bound: number,
): Remark1Check {
  // NaN (A = 0) compares false: no assumption b), no conclusion.
  const assumptionB = c.conditionA > bound;
  const assumptionsMet = assumptionA && assumptionB;
  const conclusion = c.conditionIPlusA < c.conditionA;
  return {
    ...c,
    bound,
    assumptionA,
    assumptionB,
    assumptionsMet,
    conclusion,
    counterexample: assumptionsMet && !conclusion,
  };
}

/** Remark 1 exactly as printed: a) sigma_max(A) < 1 - s (s > 0), b) C(A) > (1 + s) / (1 - s). */
export function remark1AsPrinted(
  matrix: MatrixInput,
  s: number,
  options: ConditionOptions = {},
): Remark1Check {
  if (!(s > 0 && s < 1)) throw new Error(`remark1AsPrinted: s must be in (0, 1), got ${s}`);
  const c = conditions(matrix, options);
  return check(c, c.sigmaMaxA < 1 - s, (1 + s) / (1 - s));
}

/**
 * The corrected Remark 1: a) sigma_max(A) <= a < 1, b) C(A) > (1 + a) / (1 - a). Also reports
 * `boundHolds`, C(I + A) <= (1 + a) / (1 - a) (to 1e-12 relative, for rounding in the SVD), which is
 * what the proof gives under a) alone.
 */
export function remark1Corrected(
  matrix: MatrixInput,
  a: number,
  options: ConditionOptions = {},
): Remark1Check & { boundHolds: boolean } {
  if (!(a >= 0 && a < 1)) throw new Error(`remark1Corrected: a must be in [0, 1), got ${a}`);
  const c = conditions(matrix, options);
  const threshold = (1 + a) / (1 - a);
  const result = check(c, c.sigmaMaxA <= a, threshold);
  return { ...result, boundHolds: !result.assumptionA || c.conditionIPlusA <= threshold * (1 + 1e-12) };
}
