import {
  type AsyncSymmetricOperator,
  type ExplicitMatrix,
  operatorToMatrix,
  operatorToMatrixAsync,
  type SymmetricOperator,
} from '@bmp/spectra';
import * as tf from '@tensorflow/tfjs-core';
import { hvp, jvp, unflatten, vjp } from '../backmatching/autodiff';
import { applyBlock, type ChainBlock } from '../backmatching/chain';
import { blockLoss, type TopLoss } from '../backmatching/losses';

/**
 * The local Hessians of eq. (6) of one block's back-matching loss (eq. 5, batch-mean normalisation):
 * H_z = d^2 l_b / d z_{b-1}^2 over the whole batch (dimension m * prod(inputShape), z flattened
 * sample-major) and H_W = d^2 l_b / d vec(W_b)^2 (the block's kernels in tfjs layout, each flattened
 * row-major, concatenated: for a dense kernel `[nIn, nOut]` entry (j, i) is at j * nOut + i).
 */
export interface LocalHessianSpec {
  block: ChainBlock;
  /** z_{b-1}^k, the block's input batch. */
  z: tf.Tensor;
  /** W_b^k; default the block's variables. */
  weights?: readonly tf.Tensor[];
  /**
   * The block's loss: the training loss at the top, or the target z_b^{k+1/2} below. Default: the target
   * F_b(W_b^k, z_{b-1}^k) itself (zero residual, where the exact Hessian equals the Gauss-Newton matrix).
   */
  objective?: { top: TopLoss } | { target: tf.Tensor };
  wrt: 'z' | 'W';
  /**
   * 'exact': Hessian-vector products by grad of grad (eq. 13/14 in full).
   * 'gauss-newton': (1/m) J^T J v below the top, J^T (d^2 ell) J v at the top, J v by the double-vjp trick
   * (the first term of eq. 13/14). Default 'exact'.
   */
  form?: 'exact' | 'gauss-newton';
}

/**
 * `apply` reads each product back with `dataSync`, `applyAsync` with `await data()` (what WebGPU needs in
 * Node, and what keeps a browser page responsive); the numbers are the same. The `...Async` functions of
 * `@bmp/spectra` take the operator as it is.
 */
export interface LocalHessianOperator extends SymmetricOperator, AsyncSymmetricOperator {
  /** Shapes of the parts of the vector (the batch z, or each kernel). */
  readonly shapes: number[][];
  /** Batch size m. */
  readonly batchSize: number;
}

/**
 * H_z or H_W of a block as a matrix-free operator: `apply(v)` is one Hessian- (or Gauss-Newton-) vector
 * product by automatic differentiation, in float32 on the current backend; it allocates no tensor that
 * outlives the call. The operator keeps references to `z`, `weights` and `target`: keep them alive.
 */
export function localHessianOperator(spec: LocalHessianSpec): LocalHessianOperator {
  const { block, z, wrt } = spec;
  const weights = [...(spec.weights ?? block.weights)];
  const form = spec.form ?? 'exact';
  const m = z.shape[0];
  const shapes = wrt === 'z' ? [[...z.shape]] : weights.map((w) => [...w.shape]);
  const dim = shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
  const objective = (): { top: TopLoss } | { target: tf.Tensor } =>
    spec.objective ?? { target: applyBlock(block, z, weights) };
  const asArgs = (xs: tf.Tensor[]) => (wrt === 'z' ? { zz: xs[0], ws: weights } : { zz: z, ws: xs });
  const variables = wrt === 'z' ? [z] : weights;
  const f = (xs: tf.Tensor[]) => {
    const { zz, ws } = asArgs(xs);
    return applyBlock(block, zz, ws);
  };

  const product = (v: Float64Array): tf.Tensor[] => {
    if (v.length !== dim)
      throw new Error(`operator of dimension ${dim} applied to a vector of length ${v.length}`);
    return tf.tidy(() => {
      const vs = unflatten(v, shapes);
      const obj = objective();
      if (form === 'exact') {
        const loss = (xs: tf.Tensor[]) => {
          const { zz, ws } = asArgs(xs);
          return blockLoss(block, obj, zz, ws);
        };
        return hvp(loss, variables, vs);
      }
      const jv = jvp(f, variables, vs);
      let u: tf.Tensor;
      if ('top' in obj) {
        const y = applyBlock(block, z, weights);
        [u] = hvp((ys) => obj.top(ys[0]), [y], [jv]);
      } else {
        u = tf.div(jv, m);
      }
      return vjp(f, variables, u);
    });
  };
  const apply = (v: Float64Array): Float64Array => {
    const out = product(v);
    try {
      return concatenated(
        out.map((t) => t.dataSync()),
        dim,
      );
    } finally {
      tf.dispose(out);
    }
  };
  const applyAsync = async (v: Float64Array): Promise<Float64Array> => {
    const out = product(v);
    try {
      return concatenated(await Promise.all(out.map((t) => t.data())), dim);
    } finally {
      tf.dispose(out);
    }
  };
  return { dim, shapes, batchSize: m, apply, applyAsync };
}

/** The parts of a product, read back, as one float64 vector. */
function concatenated(parts: readonly tf.TypedArray[], dim: number): Float64Array {
  const result = new Float64Array(dim);
  let o = 0;
  for (const p of parts) {
    result.set(p, o);
    o += p.length;
  }
  return result;
}

/** The explicit matrix of H_z or H_W (one operator product per column; for small blocks). */
export function localHessianMatrix(spec: LocalHessianSpec): ExplicitMatrix {
  return operatorToMatrix(localHessianOperator(spec));
}

/** `localHessianMatrix` read back asynchronously (`await data()`: WebGPU in Node, browsers); same matrix. */
export function localHessianMatrixAsync(spec: LocalHessianSpec): Promise<ExplicitMatrix> {
  return operatorToMatrixAsync(localHessianOperator(spec));
}
