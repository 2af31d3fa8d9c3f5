import {
  conditionNumber,
  gaussian,
  mulberry32,
  randomOrthogonal,
  remark1AsPrinted,
  remark1Corrected,
} from '@bmp/spectra';
import { Matrix } from 'ml-matrix';
import { type ClaimCheck, claimCheck, round } from './claim-check';

export type Remark1Structure = 'symmetric' | 'nonsymmetric' | 'near-singular' | 'gaussian';
export const REMARK1_STRUCTURES: readonly Remark1Structure[] = [
  'symmetric',
  'nonsymmetric',
  'near-singular',
  'gaussian',
];

/**
 * Random A of size 2..8 in four structures (by `index`), with singular values log-uniform over 1-6
 * decades and a top singular value drawn in (0, 0.99); `aBound` = sigma_max (1 + u/10), clipped to
 * 0.995, so assumption a) holds by construction. Symmetric A get random signs on their eigenvalues
 * (negative ones are what breaks the printed remark).
 */
export function randomRemark1Case(
  rand: () => number,
  g: () => number,
  index: number,
): { a: Matrix; aBound: number; structure: Remark1Structure } {
  const n = 2 + (index % 7);
  const structure = REMARK1_STRUCTURES[index % 4];
  const top = 0.99 * rand();
  const decades = 1 + 5 * rand();
  const sigma = Array.from({ length: n }, (_, i) => (i === 0 ? top : top * 10 ** (-decades * rand())));
  // Kept by the default rank tolerance (n eps sigma_max < 2e-15 sigma_max): C(A) ~ 1e13.
  if (structure === 'near-singular') sigma[n - 1] = top * 1e-13;
  let a: Matrix;
  if (structure === 'gaussian') {
    a = new Matrix(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a.set(i, j, g());
    a = a.mul(top / conditionNumber(a).sigmaMax);
  } else {
    const u = randomOrthogonal(n, rand);
    const v = structure === 'symmetric' ? u : randomOrthogonal(n, rand);
    const signs = sigma.map(() => (structure === 'symmetric' && rand() < 0.5 ? -1 : 1));
    a = new Matrix(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += u[i * n + k] * signs[k] * sigma[k] * v[j * n + k];
        a.set(i, j, s);
      }
    }
  }
  const aBound = Math.min(0.995, conditionNumber(a).sigmaMax * (1 + rand() / 10));
  return { a, aBound, structure };
}

export interface Remark1RandomOptions {
  seed?: number;
  /** Default 2000. */
  cases?: number;
  /**
   * Which statement to test: the corrected one (a = aBound) or, as a control that must fail, the
   * printed one with s = 1 - aBound (its b) threshold (1 + s)/(1 - s) instead of (1 + a)/(1 - a)).
   */
  statement?: 'corrected' | 'printed';
}

/** The corrected Remark 1 on many random matrices: no counterexample, and not vacuously. */
export function checkRemark1Random(options: Remark1RandomOptions = {}): ClaimCheck {
  const seed = options.seed ?? 2018;
  const cases = options.cases ?? 2000;
  const statement = options.statement ?? 'corrected';
  const rand = mulberry32(seed);
  const g = gaussian(rand);
  let counterexamples = 0;
  let boundViolations = 0;
  let applicable = 0;
  const applicableByStructure: Record<string, number> = {};
  let firstCounterexample: number[][] | null = null;
  for (let t = 0; t < cases; t++) {
    const { a, aBound, structure } = randomRemark1Case(rand, g, t);
    const r = statement === 'corrected' ? remark1Corrected(a, aBound) : remark1AsPrinted(a, 1 - aBound);
    if ('boundHolds' in r && !r.boundHolds) boundViolations++;
    if (r.assumptionsMet) {
      applicable++;
      applicableByStructure[structure] = (applicableByStructure[structure] ?? 0) + 1;
    }
    if (r.counterexample) {
      counterexamples++;
      firstCounterexample ??= a.to2DArray();
    }
  }
  const minPerStructure = Math.min(...REMARK1_STRUCTURES.map((s) => applicableByStructure[s] ?? 0));
  // Not vacuous: the assumptions must hold in at least a quarter of the cases of every structure.
  const nonVacuous = minPerStructure >= cases / 16;
  return claimCheck({
    name: statement === 'corrected' ? 'remark1-corrected-random-matrices' : 'remark1-printed-random-matrices',
    measured: counterexamples + boundViolations,
    bound: 0,
    relation: '<=',
    reference:
      statement === 'corrected'
        ? 'Section 3.2, Remark 1 (corrected: sigma_max(A) <= a < 1, C(A) > (1 + a)/(1 - a))'
        : 'Section 3.2, Remark 1 as printed (s = 1 - a)',
    description:
      `${statement === 'corrected' ? 'The corrected' : 'The printed'} Remark 1 on ${cases} random A ` +
      '(sizes 2-8; symmetric, non-symmetric, near-singular, Gaussian): counterexamples (assumptions met, ' +
      'C(I + A) >= C(A)) plus violations of C(I + A) <= (1 + a)/(1 - a); also requires the assumptions to ' +
      `hold in >= ${cases / 16} cases of each structure.`,
    seed,
    details: {
      sizes: { cases, minSize: 2, maxSize: 8 },
      statement,
      counterexamples,
      boundViolations,
      applicable,
      applicableByStructure,
      ...(firstCounterexample
        ? { firstCounterexample: firstCounterexample.map((row) => row.map((x) => round(x))) }
        : {}),
    },
    extra: nonVacuous,
  });
}

/**
 * The printed Remark 1 is caught by its counterexample A = diag(-0.89, -0.70), s = 0.1: both printed
 * assumptions hold (0.89 < 0.9, C(A) = 1.27 > 1.22) yet C(I + A) = 2.73 > C(A); the corrected statement
 * (a = sigma_max(A) = 0.89) does not apply (C(A) <= 1.89/0.11 = 17.2), and its bound C(I + A) <= 17.2 holds.
 */
export function checkRemark1Counterexample(options: { matrix?: number[][]; s?: number } = {}): ClaimCheck {
  const matrix = options.matrix ?? [
    [-0.89, 0],
    [0, -0.7],
  ];
  const s = options.s ?? 0.1;
  const printed = remark1AsPrinted(matrix, s);
  const corrected = remark1Corrected(matrix, Math.min(printed.sigmaMaxA, 1 - Number.EPSILON));
  return claimCheck({
    name: 'remark1-printed-counterexample-caught',
    measured: printed.conditionIPlusA,
    bound: printed.conditionA,
    relation: '>',
    reference: 'Section 3.2, Remark 1 as printed',
    description:
      `A = ${JSON.stringify(matrix)}, s = ${s}: the printed assumptions a) sigma_max(A) < 1 - s and ` +
      'b) C(A) > (1 + s)/(1 - s) hold, yet C(I + A) (measured) exceeds C(A) (bound): a counterexample. ' +
      'Also requires that the corrected statement with a = sigma_max(A) is not contradicted.',
    seed: 0,
    details: {
      sizes: { n: matrix.length },
      s,
      sigmaMaxA: round(printed.sigmaMaxA),
      printedThreshold: round(printed.bound),
      printedAssumptionsMet: printed.assumptionsMet,
      correctedThreshold: round(corrected.bound),
      correctedAssumptionsMet: corrected.assumptionsMet,
      correctedBoundHolds: corrected.boundHolds,
    },
    extra:
      printed.assumptionsMet && printed.counterexample && !corrected.counterexample && corrected.boundHolds,
  });
}
