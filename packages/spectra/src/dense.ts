import type { AbstractMatrix } from 'ml-matrix';

/**
 * The ways a dense symmetric matrix can be handed to the spectral functions: row-major data with its
 * dimension (the shape of `ExplicitMatrix` from `./operator`), an array of rows, or an ml-matrix
 * `Matrix`.
 */
export type DenseSymmetricInput =
  | { readonly dim: number; readonly data: ArrayLike<number> }
  | ArrayLike<ArrayLike<number>>
  | AbstractMatrix;

export interface SymmetrizeOptions {
  /**
   * Largest |a_ij - a_ji| accepted, relative to max |a_ij|; default 1e-5 (float32 autodiff Hessians are
   * symmetric to ~1e-7). Above it the input is rejected rather than silently symmetrised.
   */
  symmetryTolerance?: number;
}

function isMlMatrix(x: unknown): x is AbstractMatrix {
  return typeof x === 'object' && x !== null && typeof (x as AbstractMatrix).get === 'function';
}

/** A fresh row-major float64 copy of the input, symmetrised as (A + A^T) / 2 after the check above. */
export function symmetricData(
  input: DenseSymmetricInput,
  options: SymmetrizeOptions = {},
): {
  dim: number;
  data: Float64Array;
} {
  let dim: number;
  let data: Float64Array;
  if (isMlMatrix(input)) {
    if (input.rows !== input.columns) throw new Error(`not square: ${input.rows} x ${input.columns}`);
    dim = input.rows;
    data = new Float64Array(dim * dim);
    for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) data[i * dim + j] = input.get(i, j);
  } else if ('dim' in input && 'data' in input) {
    dim = input.dim;
    if (input.data.length !== dim * dim) throw new Error(`${input.data.length} entries for dim ${dim}`);
    data = Float64Array.from(input.data);
  } else {
    const rows = input as ArrayLike<ArrayLike<number>>;
    dim = rows.length;
    data = new Float64Array(dim * dim);
    for (let i = 0; i < dim; i++) {
      if (rows[i].length !== dim) throw new Error(`row ${i} has ${rows[i].length} entries, expected ${dim}`);
      for (let j = 0; j < dim; j++) data[i * dim + j] = rows[i][j];
    }
  }
  let maxAbs = 0;
  let maxAsym = 0;
  for (let i = 0; i < dim * dim; i++) {
    if (!Number.isFinite(data[i])) throw new Error('matrix has a non-finite entry');
    maxAbs = Math.max(maxAbs, Math.abs(data[i]));
  }
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < i; j++) {
      const a = data[i * dim + j];
      const b = data[j * dim + i];
      maxAsym = Math.max(maxAsym, Math.abs(a - b));
      const m = 0.5 * (a + b);
      data[i * dim + j] = m;
      data[j * dim + i] = m;
    }
  }
  const tol = options.symmetryTolerance ?? 1e-5;
  if (maxAsym > tol * maxAbs) {
    throw new Error(`matrix is not symmetric: max |a_ij - a_ji| = ${maxAsym} > ${tol} * max |a_ij|`);
  }
  return { dim, data };
}
