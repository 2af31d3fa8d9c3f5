/**
 * A spectral density to draw: discrete measures (SLQ probes, or the exact eigenvalues) smoothed with a
 * Gaussian kernel on a grid, on a linear axis or per decade of a log axis, with a band across probes.
 */
import type { SpectralDensityEstimate } from './quadrature';
import type { DiscreteMeasure } from './spectral-cdf';

/** Each probe's Gauss rule of an SLQ estimate as its own measure (weights summing to 1). */
export function probeMeasures(
  e: Pick<SpectralDensityEstimate, 'nodes' | 'weights' | 'probeOffsets' | 'probes'>,
): DiscreteMeasure[] {
  return Array.from({ length: e.probes }, (_, p) => {
    const from = e.probeOffsets[p];
    const to = e.probeOffsets[p + 1];
    return {
      nodes: e.nodes.slice(from, to),
      weights: Float64Array.from(e.weights.subarray(from, to), (w) => w * e.probes),
    };
  });
}

export interface SmoothedDensityOptions {
  /** |x| <= zeroTolerance is the zero mass (on a log axis, drawn apart). */
  zeroTolerance: number;
  /** 'auto' (default): log10 when the nodes above the tolerance span more than two decades. */
  scale?: 'auto' | 'linear' | 'log10';
  /** Grid points. Default 160. */
  points?: number;
  /** Kernel standard deviation as a fraction of the grid's span (linear) or in decades. Default 1/40. */
  relativeWidth?: number;
}

export interface SmoothedDensity {
  scale: 'linear' | 'log10';
  /** Eigenvalues (on a log axis: positive, spaced evenly in log10). */
  grid: number[];
  /** Per unit of eigenvalue (linear: the part outside +-zeroTolerance) or per decade (log10: above it). */
  density: number[];
  /** Standard error of the mean density across the measures at each grid point (absent for one). */
  standardError?: number[];
  /** The kernel's standard deviation: in eigenvalue units (linear) or in decades (log10). */
  sigma: number;
  /** Mass at |x| <= zeroTolerance (never part of `density`), and below -zeroTolerance (not on log10). */
  zeroMass: number;
  negativeMass: number;
  zeroTolerance: number;
}

/**
 * The mean of the measures' kernel densities on a grid, and the standard error of that mean across
 * them (the spread of SLQ's probes: an uncertainty band). On a log10 axis the density is that of
 * log10(x) over x > zeroTolerance, so that seven decades of eigenvalues are all visible. The mass within
 * the tolerance of 0 (a singular matrix's null space: most of it for many local Hessians) is returned
 * apart on both axes, not drawn as a spike that flattens the rest; so is the negative mass on a log axis.
 */
export function smoothedDensity(measures: DiscreteMeasure[], o: SmoothedDensityOptions): SmoothedDensity {
  if (measures.length === 0) throw new Error('smoothedDensity: no measures');
  const tol = o.zeroTolerance;
  let zeroMass = 0;
  let negativeMass = 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let posLo = Number.POSITIVE_INFINITY;
  for (const m of measures) {
    for (let k = 0; k < m.nodes.length; k++) {
      const x = m.nodes[k];
      const w = m.weights[k] / measures.length;
      if (x < -tol) negativeMass += w;
      else if (x <= tol) {
        zeroMass += w;
        continue;
      } else posLo = Math.min(posLo, x);
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
  }
  const spansDecades = hi > tol && posLo < hi && hi / posLo > 100;
  const scale = o.scale === 'auto' || o.scale === undefined ? (spansDecades ? 'log10' : 'linear') : o.scale;
  const points = o.points ?? 160;
  const rel = o.relativeWidth ?? 1 / 40;
  const log = scale === 'log10';
  const tx = (x: number) => (log ? Math.log10(x) : x);
  const a = log ? Math.log10(Number.isFinite(posLo) ? posLo : 1) : Number.isFinite(lo) ? lo : 0;
  const b = log ? Math.log10(hi > tol ? hi : 10) : Number.isFinite(hi) ? hi : 0;
  const span = b - a > 0 ? b - a : Math.max(Math.abs(a), 1);
  const sigma = log ? Math.max(rel * span, 0.02) : rel * span;
  const from = a - 3 * sigma;
  const to = b + 3 * sigma;
  const u = Array.from({ length: points }, (_, i) => from + ((to - from) * i) / (points - 1));
  const c = 1 / (sigma * Math.sqrt(2 * Math.PI));
  const per = measures.map((m) =>
    u.map((t) => {
      let s = 0;
      for (let k = 0; k < m.nodes.length; k++) {
        // the zero mass (and on a log axis the negative one) is returned apart, not smeared over the axis
        if (log ? !(m.nodes[k] > tol) : Math.abs(m.nodes[k]) <= tol) continue;
        const z = (t - tx(m.nodes[k])) / sigma;
        s += m.weights[k] * Math.exp(-0.5 * z * z);
      }
      return c * s;
    }),
  );
  const P = measures.length;
  const density = u.map((_, g) => per.reduce((s, d) => s + d[g], 0) / P);
  const standardError =
    P > 1
      ? u.map((_, g) => {
          let ss = 0;
          for (const d of per) ss += (d[g] - density[g]) ** 2;
          return Math.sqrt(ss / (P - 1) / P);
        })
      : undefined;
  return {
    scale,
    grid: log ? u.map((t) => 10 ** t) : u,
    density,
    ...(standardError ? { standardError } : {}),
    sigma,
    zeroMass,
    negativeMass,
    zeroTolerance: tol,
  };
}
