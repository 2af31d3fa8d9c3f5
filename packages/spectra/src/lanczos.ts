import type { AsyncSymmetricOperator, SymmetricOperator } from './operator';
import { type ProductSteps, runProducts, runProductsAsync } from './products';
import { gaussianVector, mulberry32 } from './random';
import { tridiagonalEigen } from './tridiagonal';

/**
 * The Lanczos process with full reorthogonalisation: an orthonormal basis q_0..q_{m-1} of the Krylov
 * space of the operator and start vector, and the tridiagonal T = Q^T A Q (diagonal alpha, off-diagonal
 * beta). Full reorthogonalisation (classical Gram-Schmidt, repeated when needed) costs O(m * dim) per step but keeps
 * the basis orthogonal to working precision, so no spurious copies of converged eigenvalues ("ghosts")
 * appear; for the few hundred steps used on local Hessians this is cheap next to the products.
 */
export interface LanczosRun {
  /** Diagonal of T, length `steps`. */
  alpha: Float64Array;
  /**
   * beta[j] joins q_j and q_{j+1}; beta[steps - 1] is the norm of the last residual (0 at an invariant
   * subspace), which sets the residuals of the Ritz pairs. A 0 inside marks a restart after breakdown.
   */
  beta: Float64Array;
  /** The orthonormal basis, one vector per step. */
  basis: Float64Array[];
  steps: number;
  /** Operator products used (one per step). */
  matvecs: number;
}

export interface LanczosRunOptions {
  /**
   * After an invariant subspace is found (beta ~ 0) before `maxSteps`, continue from a random vector
   * orthogonal to the basis (drawn with this generator) instead of stopping. Needed to find eigenvalues
   * outside the start vector's Krylov space; not wanted for quadrature, where breakdown means exactness.
   */
  restart?: () => number;
  /** Called after each step with the current T; return true to stop. */
  stop?: (alpha: Float64Array, beta: Float64Array, steps: number) => boolean;
}

function dot(a: Float64Array, b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/** w <- w - sum_i (q_i . w) q_i; returns the coefficients (one classical Gram-Schmidt pass). */
function orthogonalize(w: Float64Array, basis: Float64Array[], n: number): Float64Array {
  const coef = new Float64Array(basis.length);
  for (let i = 0; i < basis.length; i++) coef[i] = dot(basis[i], w, n);
  for (let i = 0; i < basis.length; i++) {
    const c = coef[i];
    const q = basis[i];
    for (let t = 0; t < n; t++) w[t] -= c * q[t];
  }
  return coef;
}

/** Runs up to `maxSteps` Lanczos steps from `start` (any non-zero vector; it is normalised). */
export function lanczosRun(
  op: SymmetricOperator,
  start: Float64Array,
  maxSteps: number,
  options: LanczosRunOptions = {},
): LanczosRun {
  return runProducts(lanczosRunSteps(op.dim, start, maxSteps, options), (v) => op.apply(v));
}

/** `lanczosRun` for an asynchronous operator: the same steps, each product awaited before the next. */
export function lanczosRunAsync(
  op: AsyncSymmetricOperator,
  start: Float64Array,
  maxSteps: number,
  options: LanczosRunOptions = {},
): Promise<LanczosRun> {
  return runProductsAsync(lanczosRunSteps(op.dim, start, maxSteps, options), (v) => op.applyAsync(v));
}

/** The Lanczos process on an operator of dimension n, asking for one product per step. */
export function* lanczosRunSteps(
  n: number,
  start: Float64Array,
  maxSteps: number,
  options: LanczosRunOptions = {},
): ProductSteps<LanczosRun> {
  if (start.length !== n) throw new Error(`lanczos: start vector has ${start.length} entries, dim ${n}`);
  const m = Math.min(maxSteps, n);
  const alpha = new Float64Array(m);
  const beta = new Float64Array(m);
  const basis: Float64Array[] = [];
  const startNorm = Math.sqrt(dot(start, start, n));
  if (!(startNorm > 0) || !Number.isFinite(startNorm))
    throw new Error('lanczos: start vector is zero or not finite');
  let q = Float64Array.from(start, (x) => x / startNorm);
  let matvecs = 0;
  let scale = 0; // running estimate of ||A||, for the breakdown test
  let steps = 0;
  for (let j = 0; j < m; j++) {
    basis.push(q);
    const aq = yield q;
    matvecs++;
    if (aq.length !== n) throw new Error(`lanczos: operator returned ${aq.length} entries, dim ${n}`);
    const w = Float64Array.from(aq);
    let a = dot(q, w, n);
    for (let t = 0; t < n; t++) w[t] -= a * q[t];
    if (j > 0 && beta[j - 1] !== 0) {
      const b = beta[j - 1];
      const qPrev = basis[j - 1];
      for (let t = 0; t < n; t++) w[t] -= b * qPrev[t];
    }
    // Full reorthogonalisation, with a second pass only when the first cancelled much of w (the DGKS
    // criterion, as in ARPACK): "twice is enough" (Kahan-Parlett), and once is enough when ||w|| kept
    // more than 1/sqrt(2) of its norm. Each pass sweeps the whole basis, the main cost besides products.
    const before = Math.sqrt(dot(w, w, n));
    a += orthogonalize(w, basis, n)[j];
    let b = Math.sqrt(dot(w, w, n));
    if (b < Math.SQRT1_2 * before) {
      orthogonalize(w, basis, n);
      b = Math.sqrt(dot(w, w, n));
    }
    alpha[j] = a;
    if (!Number.isFinite(a) || !Number.isFinite(b))
      throw new Error('lanczos: operator produced a non-finite value');
    scale = Math.max(scale, Math.abs(a) + b + (j > 0 ? beta[j - 1] : 0));
    steps = j + 1;
    const invariant = b <= 64 * 2 ** -52 * Math.max(scale, Number.MIN_VALUE) * Math.sqrt(n);
    beta[j] = invariant ? 0 : b;
    if (options.stop?.(alpha.subarray(0, steps), beta.subarray(0, steps), steps)) break;
    if (j + 1 >= m) break;
    if (invariant) {
      if (!options.restart) break;
      // New direction orthogonal to everything so far; T gets a zero off-diagonal (decoupled block).
      const r = gaussianVector(n, options.restart);
      orthogonalize(r, basis, n);
      orthogonalize(r, basis, n);
      const rn = Math.sqrt(dot(r, r, n));
      if (!(rn > 0)) break;
      q = Float64Array.from(r, (x) => x / rn);
    } else {
      q = Float64Array.from(w, (x) => x / b);
    }
  }
  return { alpha: alpha.slice(0, steps), beta: beta.slice(0, steps), basis, steps, matvecs };
}

export interface LanczosOptions {
  /** Eigenvalues wanted at each requested end of the spectrum. Default 6. */
  k?: number;
  /** Which end(s): default 'largest'. */
  which?: 'largest' | 'smallest' | 'both';
  /**
   * Stop once every wanted Ritz pair has residual ||A y - theta y|| <= tol * max |theta|. Default 1e-8.
   * The error of a Ritz value is at most the residual (and about residual^2 / gap once separated).
   */
  tol?: number;
  /** Largest number of steps (= products); default min(dim, 300). */
  maxSteps?: number;
  /** Seed of the Gaussian start vector (and of restarts). Default 0. */
  seed?: number;
  /** Start vector instead of the seeded one. */
  start?: Float64Array;
  /** Also return the Ritz vectors. Default false. */
  vectors?: boolean;
  /**
   * Also return the Gauss rule of the start vector (nodes = all Ritz values, weights = squared first
   * components of T's eigenvectors): free, and with a Rademacher `start` one probe of stochastic Lanczos
   * quadrature (`SlqOptions.first`).
   */
  quadrature?: boolean;
}

export interface LanczosResult {
  /** Ritz values, ascending: the k smallest, the k largest, or both (2k values, fewer if dim < 2k). */
  values: Float64Array;
  /** ||A y_i - theta_i y_i|| for each value: |beta_m * (last component of the eigenvector of T)|. */
  residuals: Float64Array;
  /** True when every residual is within tol * max |theta|. */
  converged: boolean;
  steps: number;
  /** Operator products used. */
  matvecs: number;
  /** Unit Ritz vectors, one per value, when `vectors: true`. */
  vectors?: Float64Array[];
  /** The start vector's Gauss rule, when `quadrature: true`. */
  quadrature?: { nodes: Float64Array; weights: Float64Array; matvecs: number };
}

/** Indices (into ascending Ritz values of size m) of the wanted ones. */
function wantedIndices(m: number, k: number, which: 'largest' | 'smallest' | 'both'): number[] {
  const kk = Math.min(k, m);
  const small = Array.from({ length: kk }, (_, i) => i);
  const large = Array.from({ length: kk }, (_, i) => m - kk + i);
  if (which === 'smallest') return small;
  if (which === 'largest') return large;
  return [...new Set([...small, ...large])].sort((a, b) => a - b);
}

/**
 * Extreme eigenvalues of a symmetric operator by Lanczos with full reorthogonalisation, touching the
 * operator only through `apply` (one product per step) and storing only vectors of length dim, so it
 * works on local Hessians far too large to form. Single-vector Lanczos finds one copy of each distinct
 * eigenvalue; a repeated eigenvalue shows up more than once only after an invariant subspace is
 * exhausted (restart). Use `symmetricEigenvalues` for full spectra of small matrices.
 */
export function lanczos(op: SymmetricOperator, options: LanczosOptions = {}): LanczosResult {
  return runProducts(lanczosSteps(op.dim, options), (v) => op.apply(v));
}

/**
 * `lanczos` for an asynchronous operator (a tfjs product read back with `await tensor.data()`, as WebGPU
 * needs): the same algorithm and result for the same products, one product awaited at a time.
 */
export function lanczosAsync(
  op: AsyncSymmetricOperator,
  options: LanczosOptions = {},
): Promise<LanczosResult> {
  return runProductsAsync(lanczosSteps(op.dim, options), (v) => op.applyAsync(v));
}

function* lanczosSteps(n: number, options: LanczosOptions): ProductSteps<LanczosResult> {
  const k = options.k ?? 6;
  const which = options.which ?? 'largest';
  const tol = options.tol ?? 1e-8;
  const maxSteps = Math.min(n, options.maxSteps ?? 300);
  if (!(k >= 1)) throw new Error(`lanczos: k must be >= 1, got ${k}`);
  if (!(maxSteps >= 1)) throw new Error(`lanczos: maxSteps must be >= 1, got ${maxSteps}`);
  const rand = mulberry32(options.seed ?? 0);
  const start = options.start ?? gaussianVector(n, rand);
  const needed = which === 'both' ? 2 * k : k;

  // Checked after every step: the eigenvalues of T and the last row of its eigenvectors cost O(m^2),
  // small next to a product and the reorthogonalisation (O(m * dim)).
  const check = (alpha: Float64Array, beta: Float64Array, m: number): boolean => {
    // Converged Ritz values need at least `needed` steps (or the whole space).
    if (m < Math.min(needed, n)) return false;
    const { values, rows } = tridiagonalEigen(alpha, beta.subarray(0, m - 1), [m - 1]);
    const bm = beta[m - 1];
    const top = Math.max(Math.abs(values[0]), Math.abs(values[m - 1]));
    return wantedIndices(m, k, which).every((i) => Math.abs(bm * rows[0][i]) <= tol * top);
  };
  const run = yield* lanczosRunSteps(n, start, maxSteps, { restart: rand, stop: check });
  const m = run.steps;
  const rowsWanted = options.vectors ? Array.from({ length: m }, (_, i) => i) : [m - 1, 0];
  const eig = tridiagonalEigen(run.alpha, run.beta.subarray(0, m - 1), rowsWanted);
  const idx = wantedIndices(m, k, which);
  const last = eig.rows[options.vectors ? m - 1 : 0];
  const bm = run.beta[m - 1];
  const values = Float64Array.from(idx, (i) => eig.values[i]);
  const residuals = Float64Array.from(idx, (i) => Math.abs(bm * last[i]));
  const top = Math.max(Math.abs(eig.values[0]), Math.abs(eig.values[m - 1]));
  const converged = residuals.every((r) => r <= tol * top);
  const result: LanczosResult = { values, residuals, converged, steps: m, matvecs: run.matvecs };
  if (options.quadrature) {
    // After a restart T is block diagonal: the later blocks' eigenvectors have a zero first component,
    // so the rule is still the start vector's (exact on its invariant Krylov space).
    const first = eig.rows[options.vectors ? 0 : 1];
    result.quadrature = {
      nodes: Float64Array.from(eig.values),
      weights: Float64Array.from(first, (x) => x * x),
      matvecs: run.matvecs,
    };
  }
  if (options.vectors) {
    result.vectors = idx.map((i) => {
      const y = new Float64Array(n);
      for (let j = 0; j < m; j++) {
        const c = eig.rows[j][i];
        const qj = run.basis[j];
        for (let t = 0; t < n; t++) y[t] += c * qj[t];
      }
      return y;
    });
  }
  return result;
}
