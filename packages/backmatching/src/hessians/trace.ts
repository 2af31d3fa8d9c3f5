import {
  type AsyncSymmetricOperator,
  hutchinsonTrace,
  hutchinsonTraceAsync,
  type ProductSteps,
  runProducts,
  runProductsAsync,
  type SymmetricOperator,
} from '@bmp/spectra';

export interface TraceOptions {
  /**
   * Up to this dimension the trace is exact: the sum of e_k^T H e_k, one product per basis vector (dim
   * products). Default 256. Raise it (to a few thousand, with `onProgress`) for exact traces of big blocks:
   * an autodiff product of a small VGG conv block costs 30-300 ms on the cpu backend, so a 2304-dim H_W
   * takes about a minute, against 32 products for Hutchinson.
   */
  exactMaxDim?: number;
  /** Rademacher probes of the Hutchinson estimate above `exactMaxDim`. Default 32. */
  probes?: number;
  seed?: number;
  /** Called after every `progressEvery` products (default 256) of an exact trace, e.g. to report progress. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface TraceEstimate {
  trace: number;
  /** How `trace` was obtained; 'hutchinson' is an estimate with `standardError`. */
  method: 'exact' | 'hutchinson';
  /** Standard error of the Hutchinson mean (0 when exact, NaN for one probe). */
  standardError: number;
  products: number;
}

/**
 * The trace of an operator: exact from its diagonal (e_k^T H e_k, by automatic differentiation through
 * the operator) up to `exactMaxDim`, else Hutchinson's estimate E[v^T H v] with Rademacher v (the
 * `hutchinsonTrace` of @bmp/spectra), labelled as such. The exact path works in chunks of
 * `progressEvery` basis vectors so that long runs can report progress.
 */
export function operatorTrace(op: SymmetricOperator, options: TraceOptions = {}): TraceEstimate {
  if (op.dim <= (options.exactMaxDim ?? 256))
    return runProducts(exactTraceSteps(op.dim, options), (v) => op.apply(v));
  const h = hutchinsonTrace(op, { probes: options.probes ?? 32, seed: options.seed ?? 0 });
  return { trace: h.trace, method: 'hutchinson', standardError: h.standardError, products: h.matvecs };
}

/**
 * `operatorTrace` of an asynchronous operator (`applyAsync`, e.g. a local Hessian operator on WebGPU):
 * the same products and estimate, each product awaited before the next.
 */
export async function operatorTraceAsync(
  op: AsyncSymmetricOperator,
  options: TraceOptions = {},
): Promise<TraceEstimate> {
  if (op.dim <= (options.exactMaxDim ?? 256))
    return runProductsAsync(exactTraceSteps(op.dim, options), (v) => op.applyAsync(v));
  const h = await hutchinsonTraceAsync(op, { probes: options.probes ?? 32, seed: options.seed ?? 0 });
  return { trace: h.trace, method: 'hutchinson', standardError: h.standardError, products: h.matvecs };
}

/** The exact trace, sum of e_k^T H e_k, asking for one product per basis vector. */
function* exactTraceSteps(n: number, options: TraceOptions): ProductSteps<TraceEstimate> {
  const chunk = Math.max(1, options.progressEvery ?? 256);
  const e = new Float64Array(n);
  let t = 0;
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    for (let k = start; k < end; k++) {
      e.fill(0);
      e[k] = 1;
      t += (yield e)[k];
    }
    options.onProgress?.(end, n);
  }
  return { trace: t, method: 'exact', standardError: 0, products: n };
}
