import type { SymmetricOperator } from './symmetric-operator';

export interface TraceOptions {
  /** Up to this dimension the trace is exact: the sum of e_k^T H e_k (dim products). Default 256. */
  exactMaxDim?: number;
  /** Rademacher probes of the Hutchinson estimate above `exactMaxDim`. Default 32. */
  probes?: number;
  seed?: number;
}

export interface TraceEstimate {
  trace: number;
  method: 'exact' | 'hutchinson';
  /** Standard error of the Hutchinson mean (0 when exact). */
  standardError: number;
  products: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The trace of an operator: exact from its diagonal (e_k^T H e_k, by automatic differentiation through
 * the operator) for small dimensions, else Hutchinson's estimate E[v^T H v] with Rademacher v. (The
 * spectra module has the general Hutchinson/SLQ tools; this is the minimal version eq. 24's comparison needs.)
 */
export function operatorTrace(op: SymmetricOperator, options: TraceOptions = {}): TraceEstimate {
  const n = op.dim;
  if (n <= (options.exactMaxDim ?? 256)) {
    const e = new Float64Array(n);
    let t = 0;
    for (let k = 0; k < n; k++) {
      e.fill(0);
      e[k] = 1;
      t += op.apply(e)[k];
    }
    return { trace: t, method: 'exact', standardError: 0, products: n };
  }
  const probes = options.probes ?? 32;
  const rand = mulberry32(options.seed ?? 0);
  const v = new Float64Array(n);
  const samples: number[] = [];
  for (let p = 0; p < probes; p++) {
    for (let i = 0; i < n; i++) v[i] = rand() < 0.5 ? -1 : 1;
    const hv = op.apply(v);
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i] * hv[i];
    samples.push(s);
  }
  const mean = samples.reduce((a, b) => a + b, 0) / probes;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, probes - 1);
  return { trace: mean, method: 'hutchinson', standardError: Math.sqrt(variance / probes), products: probes };
}
