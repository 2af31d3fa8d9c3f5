import {
  conditionNumber,
  gaussianMatrix,
  mulberry32,
  randomOrthogonal,
  remark1Corrected,
} from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';
import { applyBlock, type ChainOp, chainBlock } from '../backmatching/chain';
import { jacobian } from '../backmatching/jacobian';
import { type ClaimCheck, claimCheck, maxSpectrumDifference, round } from './claim-check';
import { float32Condition, localHessianSpectrum, variable } from './hessian-spectrum';

/**
 * A residual block z_b = S z_{b-1} + phi(z_{b-1}), phi = dense(W1) -> ReLU -> dense(W2) (no BN), and
 * what Remark 1 and the discussion after it compare. W2 is scaled so that the batch Jacobian
 * A = d vec(phi) / d vec(z) has sigma_max(A) = `sigmaMax` (the ReLU pattern does not depend on W2, so A
 * is linear in W2): assumption a) of the corrected Remark 1 holds with a = `a` >= sigmaMax.
 */
export interface SkipSetupOptions {
  /** Width n of z. Default 8. */
  n?: number;
  /** Hidden width of phi; 4 n by default, so that the ReLU keeps A of full rank. */
  hidden?: number;
  /** Batch size m. Default 4. */
  m?: number;
  sigmaMax?: number;
  a?: number;
  seed: number;
}

export interface SkipSetup {
  n: number;
  hidden: number;
  m: number;
  a: number;
  seed: number;
  /** sigma_max and C of A (float32 rank tolerance), and the corrected Remark 1 on A. */
  sigmaMaxA: number;
  conditionA: number;
  remark1: ReturnType<typeof remark1Corrected>;
  /** Ascending eigenvalues of the Gauss-Newton H_z (first part of eq. 13) of the block with skip S. */
  spectrum(skip: 'none' | 'identity' | { s: Float64Array; rotateBranch?: boolean }): Float64Array;
  dispose(): void;
}

const body: ChainOp[] = [{ op: 'dense', weight: 0 }, { op: 'relu' }, { op: 'dense', weight: 1 }];

/** Kernel in tfjs layout (z -> z K) of the skip z -> S z: K = S^T. */
function skipKernel(s: Float64Array, n: number): Float32Array {
  const k = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[j * n + i] = s[i * n + j];
  return k;
}

export function skipSetup(options: SkipSetupOptions): SkipSetup {
  const n = options.n ?? 8;
  const hidden = options.hidden ?? 4 * n;
  const m = options.m ?? 4;
  const sigmaMax = options.sigmaMax ?? 0.49;
  const a = options.a ?? 0.5;
  const { seed } = options;
  if (!(sigmaMax > 0 && sigmaMax <= a && a < 1))
    throw new Error(`skipSetup: need 0 < sigmaMax <= a < 1, got sigmaMax ${sigmaMax}, a ${a}`);
  const dim = m * n;
  const z = tf.tensor2d(Float32Array.from(gaussianMatrix(m, n, 1, seed)), [m, n]);
  const w1 = variable(
    tf.tensor2d(Float32Array.from(gaussianMatrix(n, hidden, 2 / n, seed + 1)), [n, hidden]),
    false,
  );
  const raw2 = gaussianMatrix(hidden, n, 1 / hidden, seed + 2);
  const w2 = variable(tf.tensor2d(Float32Array.from(raw2), [hidden, n]), false);
  const plain = chainBlock({ name: 'phi', weights: [w1, w2], ops: body, inputShape: [n] });
  const owned: tf.Tensor[] = [z, w1, w2];
  const jacobianA = () => jacobian((xs) => applyBlock(plain, xs[0]), [z]);
  let cA: ReturnType<typeof conditionNumber>;
  let remark1: ReturnType<typeof remark1Corrected>;
  try {
    const initial = conditionNumber(jacobianA()).sigmaMax;
    if (!(initial > 0))
      throw new Error(`skipSetup: the branch Jacobian is zero (seed ${seed}: every ReLU off)`);
    const scaled = tf.mul(w2, sigmaMax / initial);
    w2.assign(scaled);
    scaled.dispose();
    const A = jacobianA(); // recomputed after scaling: what the checks assume is measured, not inferred
    const f32 = { rankTolerance: dim * 2 ** -23 * sigmaMax };
    cA = conditionNumber(A, f32);
    remark1 = remark1Corrected(A, a, f32);
  } catch (e) {
    tf.dispose(owned);
    throw e;
  }

  const spectrum: SkipSetup['spectrum'] = (skip) => {
    if (skip === 'none') return localHessianSpectrum({ block: plain, z, wrt: 'z', form: 'gauss-newton' });
    const made: tf.Tensor[] = [];
    try {
      let skipTensor: tf.Tensor | null = null;
      let weights: tf.Variable[] = [w1, w2];
      if (skip !== 'identity') {
        const k = skipKernel(skip.s, n);
        skipTensor = tf.tensor2d(k, [n, n]);
        made.push(skipTensor);
        if (skip.rotateBranch) {
          // identity skip, branch output rotated by S^T: z + phi(z) K^T, so that (S z + phi(z)) = (that) K
          const rotated = variable(
            tf.tidy(() => tf.matMul(w2 as tf.Tensor2D, skipTensor as tf.Tensor2D, false, true)),
            false,
          );
          made.push(rotated);
          weights = [w1, rotated];
          skipTensor = null;
        }
      }
      const block = chainBlock({
        name: 'residual',
        weights,
        ops: [{ op: 'residual', skip: skipTensor, body }],
        inputShape: [n],
      });
      return localHessianSpectrum({ block, z, wrt: 'z', form: 'gauss-newton' });
    } finally {
      tf.dispose(made);
    }
  };
  return {
    n,
    hidden,
    m,
    a,
    seed,
    sigmaMaxA: cA.sigmaMax,
    conditionA: cA.condition,
    remark1,
    spectrum,
    dispose: () => tf.dispose(owned),
  };
}

function sizes(s: SkipSetup) {
  return { n: s.n, hidden: s.hidden, batch: s.m, dim: s.n * s.m };
}

/** ((1 + a) / (1 - a))^2: the corrected Remark 1's bound on C(I + A), squared for the Gauss-Newton H. */
function orthogonalBound(a: number): number {
  return ((1 + a) / (1 - a)) ** 2;
}

/**
 * A skip connection lowers the condition number of the Gauss-Newton H_z under the corrected Remark 1:
 * sigma_max(A) <= a < 1 and C(A) > (1 + a) / (1 - a) give C(I + A) < C(A), i.e.
 * C(H with skip) = C(I + A)^2 < C(A)^2 = C(H without skip).
 */
export function checkSkipLowersCondition(options: { seed?: number } = {}): ClaimCheck {
  const seed = options.seed ?? 2018;
  const s = skipSetup({ seed });
  try {
    const withSkip = float32Condition(s.spectrum('identity'));
    const without = float32Condition(s.spectrum('none'));
    return claimCheck({
      name: 'skip-connection-lowers-condition',
      measured: withSkip,
      bound: without,
      relation: '<',
      reference: 'Section 3.2, Remark 1 (corrected), eq. (13)',
      description:
        'C of the Gauss-Newton H_z of a residual block z + phi(z), phi = dense -> ReLU -> dense scaled to ' +
        `sigma_max(dphi/dz) = ${round(s.sigmaMaxA, 4)} <= a = ${s.a}, against the same block without the skip; ` +
        'requires the corrected assumptions a) and b) to hold for A = dphi/dz.',
      seed,
      details: {
        sizes: sizes(s),
        a: s.a,
        sigmaMaxA: round(s.sigmaMaxA),
        conditionA: round(s.conditionA),
        assumptionBThreshold: round(s.remark1.bound),
        assumptionsMet: s.remark1.assumptionsMet,
        upperBoundWithSkip: round(orthogonalBound(s.a)),
      },
      extra: s.remark1.assumptionsMet,
    });
  } finally {
    s.dispose();
  }
}

/**
 * An orthogonal skip S gives the same Gauss-Newton spectrum as the identity skip whose branch output is
 * rotated by S^T (S z + phi(z) = S (z + S^T phi(z)), and an orthogonal factor on the output does not
 * change J^T J): orthogonal skips do not change the condition number. Both also meet the corrected
 * Remark 1's bound ((1 + a)/(1 - a))^2, since sigma(S^T A) = sigma(A).
 */
export function checkOrthogonalSkip(options: { seed?: number } = {}): ClaimCheck {
  const seed = options.seed ?? 2018;
  const s = skipSetup({ seed });
  try {
    const orth = randomOrthogonal(s.n, mulberry32(seed + 3));
    const withOrth = s.spectrum({ s: orth });
    const rotatedIdentity = s.spectrum({ s: orth, rotateBranch: true });
    const top = rotatedIdentity[rotatedIdentity.length - 1];
    const cOrth = float32Condition(withOrth);
    const cId = float32Condition(rotatedIdentity);
    const bound = orthogonalBound(s.a);
    return claimCheck({
      name: 'orthogonal-skip-matches-identity',
      measured: maxSpectrumDifference(withOrth, rotatedIdentity, top),
      bound: 1e-4,
      relation: '<=',
      reference: 'Section 3.2 (after Remark 1), eq. (13)',
      description:
        'Gauss-Newton H_z of S z + phi(z) with a random orthogonal S against the identity-skip block ' +
        'z + S^T phi(z): largest eigenvalue difference relative to the largest eigenvalue (float32 ' +
        'autodiff); also requires both condition numbers <= ((1 + a)/(1 - a))^2.',
      seed,
      details: {
        sizes: sizes(s),
        a: s.a,
        sigmaMaxA: round(s.sigmaMaxA),
        conditionOrthogonalSkip: round(cOrth),
        conditionIdentitySkip: round(cId),
        upperBound: round(bound),
      },
      extra: cOrth <= bound * (1 + 1e-4) && cId <= bound * (1 + 1e-4),
    });
  } finally {
    s.dispose();
  }
}

/**
 * A non-orthogonal skip S = U diag(s) V^T with spread singular values is worse than an orthogonal one
 * with the same branch: by Weyl, sigma_max(S + A) >= s_max - a and sigma_min(S + A) <= s_min + a, so
 * C(H) >= ((s_max - a)/(s_min + a))^2, above the orthogonal skip's ((1 + a)/(1 - a))^2 for the values here.
 */
export function checkNonOrthogonalSkip(
  options: { seed?: number; singularValues?: [number, number] } = {},
): ClaimCheck {
  const seed = options.seed ?? 2018;
  const [sMin, sMax] = options.singularValues ?? [0.1, 3];
  const s = skipSetup({ seed });
  try {
    const rand = mulberry32(seed + 3);
    const orth = randomOrthogonal(s.n, rand);
    const u = randomOrthogonal(s.n, rand);
    const v = randomOrthogonal(s.n, rand);
    // singular values log-spaced from sMax down to sMin
    const sv = Array.from({ length: s.n }, (_, i) => sMax * (sMin / sMax) ** (i / (s.n - 1)));
    const nonOrth = new Float64Array(s.n * s.n);
    for (let i = 0; i < s.n; i++)
      for (let j = 0; j < s.n; j++) {
        let acc = 0;
        for (let k = 0; k < s.n; k++) acc += u[i * s.n + k] * sv[k] * v[j * s.n + k];
        nonOrth[i * s.n + j] = acc;
      }
    const cOrth = float32Condition(s.spectrum({ s: orth }));
    const cNon = float32Condition(s.spectrum({ s: nonOrth }));
    return claimCheck({
      name: 'non-orthogonal-skip-is-worse',
      measured: cNon,
      bound: cOrth,
      relation: '>',
      reference: 'Section 3.2 (after Remark 1), eq. (13)',
      description:
        `C of the Gauss-Newton H_z of S z + phi(z) with a non-orthogonal S (singular values ${sMin} to ${sMax}) ` +
        'against a random orthogonal S, same branch phi (sigma_max(dphi/dz) <= a).',
      seed,
      details: {
        sizes: sizes(s),
        a: s.a,
        skipSingularValues: [sMin, sMax],
        weylLowerBoundNonOrthogonal: round(Math.max(0, (sMax - s.a) / (sMin + s.a)) ** 2),
        upperBoundOrthogonal: round(orthogonalBound(s.a)),
      },
    });
  } finally {
    s.dispose();
  }
}
