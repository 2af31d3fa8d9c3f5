import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { type DenseSymmetricInput, type SymmetrizeOptions, symmetricData } from './dense';

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** Orthonormal eigenvectors as the columns of an ml-matrix `Matrix`, column i for `values[i]`. */
  vectors: Matrix;
}

/**
 * Full eigendecomposition A = V diag(values) V^T of a dense symmetric matrix by ml-matrix's
 * `EigenvalueDecomposition` (a maintained port of JAMA's tred2/tql2). Use it when eigenvectors are
 * needed; for eigenvalues alone `symmetricEigenvalues` is several times faster.
 */
export function symmetricEigen(input: DenseSymmetricInput, options: SymmetrizeOptions = {}): SymmetricEigen {
  const { dim, data } = symmetricData(input, options);
  const m = new Matrix(dim, dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) m.set(i, j, data[i * dim + j]);
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  // JAMA sorts ascending already; sort again so the contract does not rest on that detail.
  const order = Array.from({ length: dim }, (_, i) => i).sort((a, b) => raw[a] - raw[b]);
  const values = Float64Array.from(order, (i) => raw[i]);
  const sorted = new Matrix(dim, dim);
  for (let c = 0; c < dim; c++) for (let r = 0; r < dim; r++) sorted.set(r, c, vectors.get(r, order[c]));
  return { values, vectors: sorted };
}
