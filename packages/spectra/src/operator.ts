import { type ProductSteps, runProducts, runProductsAsync } from './products';

/**
 * A symmetric linear operator on R^dim known only through its matrix-vector product. Lanczos,
 * stochastic Lanczos quadrature and Hutchinson take these, so a local Hessian of any size can be
 * analysed without ever forming it (a 4608 x 4608 float64 matrix is 170 MB; its product is 37 KB).
 * This is the one operator type of the @bmp packages: `@bmp/backmatching`'s `tfOperator` and local
 * Hessian operators implement it.
 */
export interface SymmetricOperator {
  readonly dim: number;
  /** A v. Must not modify `v`; may return a fresh array or one it owns until the next call. */
  apply(v: Float64Array): Float64Array;
  /** Name for reports and error messages. */
  readonly label?: string;
}

/**
 * A symmetric operator whose product is asynchronous: a tfjs product on a GPU backend, read back with
 * `await tensor.data()` (WebGPU in Node cannot read synchronously; in a browser a synchronous read stalls
 * the page). The `...Async` algorithms (`lanczosAsync`, `hutchinsonTraceAsync`, `operatorToMatrixAsync`,
 * ...) take these, one product at a time, and give the same results as their synchronous forms.
 * `@bmp/backmatching`'s tfjs operators implement both `apply` and `applyAsync`.
 */
export interface AsyncSymmetricOperator {
  readonly dim: number;
  /** A v. Must not modify `v`; may resolve to a fresh array or one it owns until the next call. */
  applyAsync(v: Float64Array): Promise<Float64Array>;
  readonly label?: string;
}

/** A synchronous operator seen as an asynchronous one (its products wrapped in resolved promises). */
export function asyncOperator(op: SymmetricOperator): AsyncSymmetricOperator {
  return { dim: op.dim, label: op.label, applyAsync: async (v) => op.apply(v) };
}

/** A dense symmetric matrix, row-major (`dim * dim` entries): an operator made explicit, or a closed form. */
export interface ExplicitMatrix {
  dim: number;
  data: Float64Array;
}

/** The explicit matrix of an operator, one product per column (dim products; for small operators). */
export function operatorToMatrix(op: SymmetricOperator): ExplicitMatrix {
  return runProducts(matrixSteps(op.dim), (v) => op.apply(v));
}

/** `operatorToMatrix` for an asynchronous operator: the same columns, one awaited product at a time. */
export function operatorToMatrixAsync(op: AsyncSymmetricOperator): Promise<ExplicitMatrix> {
  return runProductsAsync(matrixSteps(op.dim), (v) => op.applyAsync(v));
}

function* matrixSteps(n: number): ProductSteps<ExplicitMatrix> {
  const data = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = yield e;
    for (let i = 0; i < n; i++) data[i * n + j] = col[i];
  }
  return { dim: n, data };
}

/** An operator that counts its products, so that tests and reports can state the cost of a method. */
export interface CountingOperator extends SymmetricOperator {
  /** Products computed so far. */
  readonly count: number;
  reset(): void;
}

export function countingOperator(op: SymmetricOperator): CountingOperator {
  let count = 0;
  return {
    dim: op.dim,
    label: op.label,
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
    apply(v) {
      count++;
      return op.apply(v);
    },
  };
}

/** A dense symmetric matrix (row-major, `dim * dim` entries) as an operator, for tests and small blocks. */
export function denseOperator(data: ArrayLike<number>, dim: number, label?: string): SymmetricOperator {
  if (data.length !== dim * dim) throw new Error(`denseOperator: ${data.length} entries for dim ${dim}`);
  const a = Float64Array.from(data);
  return {
    dim,
    label,
    apply(v) {
      const out = new Float64Array(dim);
      for (let i = 0; i < dim; i++) {
        let s = 0;
        const row = i * dim;
        for (let j = 0; j < dim; j++) s += a[row + j] * v[j];
        out[i] = s;
      }
      return out;
    },
  };
}
