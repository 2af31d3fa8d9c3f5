/**
 * A symmetric linear operator on R^dim given by its matrix-vector product. Same shape as
 * `SymmetricOperator` in `../spectra/operator.ts` (the spectra module's Lanczos, SLQ and Hutchinson take
 * these operators); kept here so that the Hessian operators do not depend on that module's files.
 */
export interface SymmetricOperator {
  readonly dim: number;
  apply(v: Float64Array): Float64Array;
}

/** A dense symmetric matrix, row-major. */
export interface ExplicitMatrix {
  dim: number;
  data: Float64Array;
}

/** The explicit matrix of an operator, one product per column (dim products). */
export function operatorToMatrix(op: SymmetricOperator): ExplicitMatrix {
  const n = op.dim;
  const data = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = op.apply(e);
    for (let i = 0; i < n; i++) data[i * n + j] = col[i];
  }
  return { dim: n, data };
}
