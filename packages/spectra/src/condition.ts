import { type AbstractMatrix, Matrix, SingularValueDecomposition } from 'ml-matrix';

const EPS = 2 ** -52;

export interface ConditionOptions {
  /**
   * Singular values <= rankTolerance count as zero. Default max(rows, cols) * eps * sigma_max (the
   * convention of numpy.linalg.matrix_rank and MATLAB's rank): what rounding alone can produce.
   * Raise it for matrices computed in float32 (e.g. max(rows, cols) * 2^-23 * sigma_max).
   */
  rankTolerance?: number;
}

export interface ConditionNumber {
  /** C(M) = sigma_max / sigma_min over the non-zero singular values; NaN when there are none. */
  condition: number;
  sigmaMax: number;
  /** Smallest singular value above the tolerance. */
  sigmaMin: number;
  /** Number of singular values above the tolerance. */
  rank: number;
  /** The tolerance used. */
  rankTolerance: number;
}

/**
 * C(M) of the paper (section 3.2): sigma_max / sigma_min over the non-zero singular values, from given
 * singular values (or from the eigenvalues of a symmetric matrix: its singular values are |lambda|).
 * `dims` = [rows, cols] sets the default tolerance; default both = the number of values.
 */
export function conditionFromSingularValues(
  values: ArrayLike<number>,
  options: ConditionOptions & { dims?: [number, number] } = {},
): ConditionNumber {
  let sigmaMax = 0;
  for (let i = 0; i < values.length; i++) {
    const s = Math.abs(values[i]);
    if (Number.isNaN(s)) throw new Error('condition number: NaN singular value');
    sigmaMax = Math.max(sigmaMax, s);
  }
  const size = options.dims ? Math.max(...options.dims) : values.length;
  const rankTolerance = options.rankTolerance ?? size * EPS * sigmaMax;
  if (!(rankTolerance >= 0))
    throw new Error(`condition number: rankTolerance must be >= 0, got ${rankTolerance}`);
  let sigmaMin = Number.POSITIVE_INFINITY;
  let rank = 0;
  for (let i = 0; i < values.length; i++) {
    const s = Math.abs(values[i]);
    if (s > rankTolerance) {
      rank++;
      sigmaMin = Math.min(sigmaMin, s);
    }
  }
  if (rank === 0) return { condition: Number.NaN, sigmaMax, sigmaMin: Number.NaN, rank, rankTolerance };
  return { condition: sigmaMax / sigmaMin, sigmaMax, sigmaMin, rank, rankTolerance };
}

/** C(M) of a symmetric matrix from its eigenvalues (singular values = |eigenvalues|). */
export function conditionFromEigenvalues(
  eigenvalues: ArrayLike<number>,
  options: ConditionOptions = {},
): ConditionNumber {
  return conditionFromSingularValues(eigenvalues, options);
}

/** Singular values (descending) of a general matrix by ml-matrix's SVD. */
export function singularValues(m: AbstractMatrix | number[][]): Float64Array {
  const mat = Matrix.checkMatrix(m);
  const svd = new SingularValueDecomposition(mat, {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
    autoTranspose: true,
  });
  return Float64Array.from(svd.diagonal).sort((a, b) => b - a);
}

/** C(M) of a general (possibly non-square, non-symmetric) matrix, singular values by ml-matrix's SVD. */
export function conditionNumber(
  m: AbstractMatrix | number[][],
  options: ConditionOptions = {},
): ConditionNumber {
  const mat = Matrix.checkMatrix(m);
  return conditionFromSingularValues(singularValues(mat), { ...options, dims: [mat.rows, mat.columns] });
}
