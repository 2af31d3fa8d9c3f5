import { haarQ } from './orthogonal';
import { gaussianArray } from './random';

/**
 * How weight layers are initialised. All are seeded: the same seed gives the same weights.
 *
 * - `'he'` / `{ kind: 'he' }`: normal, fan-in mode, gain sqrt(2): std = sqrt(2 / fanIn)
 *   (PyTorch's `kaiming_normal_(mode='fan_in', nonlinearity='relu')`).
 * - `'orthogonal'` / `{ kind: 'orthogonal', gain? }`: W (the paper's `nOut x fanIn` matrix) has
 *   orthonormal rows (nOut <= fanIn) or columns (nOut > fanIn), times `gain` (default 1): Q of the QR
 *   decomposition of a seeded Gaussian matrix with signs fixed by diag(R) (PyTorch's `orthogonal_`).
 * - `'gaussian'` / `{ kind: 'gaussian', std? }`: normal with the given std (default 0.01).
 */
export type InitSpec =
  | 'he'
  | 'orthogonal'
  | 'gaussian'
  | { kind: 'he' }
  | { kind: 'orthogonal'; gain?: number }
  | { kind: 'gaussian'; std?: number };

export type ResolvedInit =
  | { kind: 'he' }
  | { kind: 'orthogonal'; gain: number }
  | { kind: 'gaussian'; std: number };

export const DEFAULT_GAUSSIAN_STD = 0.01;

export function resolveInit(spec: InitSpec | undefined): ResolvedInit {
  const s = spec ?? 'he';
  const kind = typeof s === 'string' ? s : s?.kind;
  if (kind === 'he') return { kind: 'he' };
  if (kind === 'orthogonal') {
    const gain = typeof s === 'object' && 'gain' in s && s.gain != null ? s.gain : 1;
    if (!Number.isFinite(gain) || gain <= 0) throw new RangeError(`orthogonal gain must be > 0, got ${gain}`);
    return { kind: 'orthogonal', gain };
  }
  if (kind === 'gaussian') {
    const std = typeof s === 'object' && 'std' in s && s.std != null ? s.std : DEFAULT_GAUSSIAN_STD;
    if (!Number.isFinite(std) || std < 0) throw new RangeError(`gaussian std must be >= 0, got ${std}`);
    return { kind: 'gaussian', std };
  }
  throw new TypeError(
    `init must be 'he', 'orthogonal' or 'gaussian' (or { kind, ... }), got ${JSON.stringify(spec)}`,
  );
}

/**
 * Initial values of a weight whose tfjs layout flattens to `[fanIn, nOut]` (dense `[nIn, nOut]`, conv
 * `[kh, kw, cIn, cOut]`), i.e. the transpose of the paper's `nOut x fanIn` matrix W.
 */
export function initialValues(init: ResolvedInit, fanIn: number, nOut: number, seed: number): Float32Array {
  const n = fanIn * nOut;
  const out = new Float32Array(n);
  if (init.kind === 'he' || init.kind === 'gaussian') {
    const std = init.kind === 'he' ? Math.sqrt(2 / fanIn) : init.std;
    const g = gaussianArray(n, seed);
    for (let i = 0; i < n; i++) out[i] = g[i] * std;
    return out;
  }
  return orthogonalKernel(fanIn, nOut, seed, init.gain);
}

/**
 * An orthogonal kernel in tfjs layout `[fanIn, nOut]` (row-major): K = W^T with W the paper's
 * `nOut x fanIn` matrix, W W^T = gain^2 I if nOut <= fanIn, W^T W = gain^2 I otherwise.
 */
export function orthogonalKernel(fanIn: number, nOut: number, seed: number, gain = 1): Float32Array {
  const rows = Math.max(fanIn, nOut);
  const cols = Math.min(fanIn, nOut);
  const q = haarQ(gaussianArray(rows * cols, seed), rows, cols);
  const out = new Float32Array(fanIn * nOut);
  if (fanIn >= nOut) {
    // q is fanIn x nOut with orthonormal columns: it is K itself (W = q^T has orthonormal rows).
    for (let i = 0; i < out.length; i++) out[i] = q[i] * gain;
  } else {
    // q is nOut x fanIn with orthonormal columns: W = q, K = q^T.
    for (let f = 0; f < fanIn; f++) {
      for (let o = 0; o < nOut; o++) out[f * nOut + o] = q[o * fanIn + f] * gain;
    }
  }
  return out;
}
