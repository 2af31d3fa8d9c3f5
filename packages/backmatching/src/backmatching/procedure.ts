import * as tf from '@tensorflow/tfjs-core';
import { flatten64, unflatten } from './autodiff';
import { applyBlock, type ChainBlock } from './chain';
import { jacobian, leastSquaresStep } from './jacobian';
import { blockLoss, forwardChain, type TopLoss } from './losses';
import type { BlockChain } from './network-chain';

/**
 * A sub-solver for the W-step (3) or the z-step (4) of Procedure 1.
 * - `gradient`: `steps` (default 1) gradient steps of size `step`. On W the step applies to the batch-mean
 *   loss l_b as is (step mu). On z it is in per-sample units: z <- z - step * m * grad_z l_b, m the batch
 *   size, i.e. a step of `step` on the sum-normalised loss m * l_b (see README: with the batch-mean
 *   convention, `step: 1` is the paper's step 1 and reproduces back-propagation).
 * - `exact`: the least-squares minimiser for a block that is linear in the variable (`ChainBlock.linear`,
 *   not the top block): the minimum-norm change x <- x + J^+ (target - F(x)), J by automatic
 *   differentiation, J^+ its SVD pseudo-inverse (ml-matrix).
 */
export type SubSolver = { kind: 'gradient'; step: number; steps?: number } | { kind: 'exact' };

export type SubSolverChoice = SubSolver | ((index: number, block: ChainBlock) => SubSolver);

export interface BackMatchingOptions {
  /** The training loss at the top (l_B of eq. 5), a batch mean. */
  top: TopLoss;
  /** Sub-solver of the W-step (3). */
  wStep: SubSolverChoice;
  /** Sub-solver of the z-step (4). Default one gradient step of size 1 (per-sample units). */
  zStep?: SubSolverChoice;
  /** Also run the z-step of block 1 (z_0 is the input, nothing below uses it). Default false. */
  inputStep?: boolean;
}

export interface SubStepReport {
  solver: SubSolver;
  /** l_b(W_b^k, z_{b-1}^k) with the block's target. */
  before: number;
  /** After the sub-step: l_b(W_b^{k+1}, z_{b-1}^k) for the W-step, l_b(W_b^k, z_{b-1}^{k+1/2}) for the z-step. */
  after: number;
}

export interface BlockStepReport {
  /** Block index b - 1 in forward order (0 = first block). */
  index: number;
  name: string;
  kind: ChainBlock['kind'];
  w: SubStepReport;
  /** Null for block 1 unless `inputStep`. */
  z: SubStepReport | null;
}

export interface BackMatchingResult {
  /** W_b^{k+1} per block (forward order); owned by the result. */
  weights: tf.Tensor[][];
  /** z_b^{k+1/2} for b = 0..B-1 (forward order; entry 0 is null unless `inputStep`); owned by the result. */
  targets: Array<tf.Tensor | null>;
  /** Per block, in the order Procedure 1 visits them (b = B, ..., 1). */
  reports: BlockStepReport[];
  /** Writes W^{k+1} into the blocks' variables. */
  assign(): void;
  dispose(): void;
}

function choose(choice: SubSolverChoice, index: number, block: ChainBlock): SubSolver {
  return typeof choice === 'function' ? choice(index, block) : choice;
}

function checkSolver(s: SubSolver, what: string): void {
  if (s.kind === 'gradient') {
    if (!Number.isFinite(s.step)) throw new RangeError(`${what}: step must be finite, got ${s.step}`);
    const k = s.steps ?? 1;
    if (!Number.isInteger(k) || k < 1)
      throw new RangeError(`${what}: steps must be a positive integer, got ${k}`);
  } else if (s.kind !== 'exact') {
    throw new TypeError(`${what}: unknown sub-solver ${JSON.stringify(s)}`);
  }
}

type Objective = { top: TopLoss } | { target: tf.Tensor };

function lossValue(block: ChainBlock, obj: Objective, z: tf.Tensor, weights: readonly tf.Tensor[]): number {
  return tf.tidy(() => blockLoss(block, obj, z, weights).dataSync()[0]);
}

function exactStep(
  block: ChainBlock,
  obj: Objective,
  which: 'w' | 'z',
  z: tf.Tensor,
  weights: readonly tf.Tensor[],
): tf.Tensor[] {
  if (!('target' in obj))
    throw new Error(
      `block '${block.name}': the exact sub-solver needs a least-squares loss (not the top block)`,
    );
  if (!block.linear) {
    throw new Error(
      `block '${block.name}': the exact sub-solver needs a linear block (no BN, ReLU or max-pool)`,
    );
  }
  const xs = which === 'w' ? [...weights] : [z];
  const f = (args: tf.Tensor[]) =>
    which === 'w' ? applyBlock(block, z, args) : applyBlock(block, args[0], weights);
  const J = jacobian(f, xs);
  const residual = tf.tidy(() => tf.sub(obj.target, f(xs)));
  const r = flatten64([residual]);
  residual.dispose();
  const d = leastSquaresStep(J, r);
  return tf.tidy(() => {
    const parts = unflatten(
      d,
      xs.map((x) => x.shape),
    );
    return xs.map((x, i) => tf.add(x, parts[i]));
  });
}

function gradientSteps(
  block: ChainBlock,
  obj: Objective,
  which: 'w' | 'z',
  z: tf.Tensor,
  weights: readonly tf.Tensor[],
  step: number,
  steps: number,
): tf.Tensor[] {
  return tf.tidy(() => {
    let ws = [...weights];
    let zz = z;
    const m = z.shape[0];
    for (let k = 0; k < steps; k++) {
      if (which === 'w') {
        const g = tf.grads((...args: tf.Tensor[]) => blockLoss(block, obj, zz, args))(ws);
        ws = ws.map((w, i) => tf.sub(w, tf.mul(g[i], step)));
      } else {
        const g = tf.grad((a: tf.Tensor) => blockLoss(block, obj, a, ws))(zz);
        zz = tf.sub(zz, tf.mul(g, step * m));
      }
    }
    return which === 'w' ? ws : [zz];
  });
}

/**
 * Procedure 1 (back-matching propagation), one outer iteration k: a forward pass gives z^k; then for
 * b = B..1 the W-step (3) W_b^{k+1} = argmin_W l_b(W, z_{b-1}^k) and the z-step (4)
 * z_{b-1}^{k+1/2} = argmin_z l_b(W_b^k, z), each solved by the chosen sub-solver, with l_b of eq. (5)
 * (batch-mean normalisation). With one gradient step (step mu on W, step 1 on z) W^{k+1} is the
 * gradient-descent step of the whole network with step mu (Proposition 1). Variables are not changed
 * unless `assign()` is called.
 */
export function backMatchingPropagation(
  chain: BlockChain,
  x: tf.Tensor,
  options: BackMatchingOptions,
): BackMatchingResult {
  const B = chain.blocks.length;
  if (B === 0) throw new Error('the chain has no blocks');
  const zStepChoice = options.zStep ?? { kind: 'gradient', step: 1 };
  const zs = forwardChain(chain, x);
  const weights: tf.Tensor[][] = new Array(B);
  const targets: Array<tf.Tensor | null> = new Array(B).fill(null);
  const reports: BlockStepReport[] = [];
  try {
    for (let b = B - 1; b >= 0; b--) {
      const block = chain.blocks[b];
      const obj: Objective = b === B - 1 ? { top: options.top } : { target: targets[b + 1]! };
      const z = zs[b];
      const before = lossValue(block, obj, z, block.weights);
      const ws = choose(options.wStep, b, block);
      checkSolver(ws, `W-step of '${block.name}'`);
      const newW =
        ws.kind === 'exact'
          ? exactStep(block, obj, 'w', z, block.weights)
          : gradientSteps(block, obj, 'w', z, block.weights, ws.step, ws.steps ?? 1);
      weights[b] = newW;
      const afterW = lossValue(block, obj, z, newW);
      let zReport: SubStepReport | null = null;
      if (b > 0 || options.inputStep) {
        const zsolver = choose(zStepChoice, b, block);
        checkSolver(zsolver, `z-step of '${block.name}'`);
        const [newZ] =
          zsolver.kind === 'exact'
            ? exactStep(block, obj, 'z', z, block.weights)
            : gradientSteps(block, obj, 'z', z, block.weights, zsolver.step, zsolver.steps ?? 1);
        targets[b] = newZ;
        zReport = { solver: zsolver, before, after: lossValue(block, obj, newZ, block.weights) };
      }
      reports.push({
        index: b,
        name: block.name,
        kind: block.kind,
        w: { solver: ws, before, after: afterW },
        z: zReport,
      });
    }
  } catch (e) {
    for (const t of [...weights.flat(), ...targets]) t?.dispose();
    throw e;
  } finally {
    for (const t of zs) t.dispose();
  }
  let disposed = false;
  return {
    weights,
    targets,
    reports,
    assign() {
      if (disposed) throw new Error('result disposed');
      chain.blocks.forEach((block, b) => {
        block.weights.forEach((v, i) => {
          v.assign(weights[b][i]);
        });
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of [...weights.flat(), ...targets]) t?.dispose();
    },
  };
}
