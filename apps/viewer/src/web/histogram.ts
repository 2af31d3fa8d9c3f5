import type { Histogram, MarchenkoPastur as MpSummary } from '@bmp/runlog';
import { marchenkoPastur } from '@bmp/spectra';
import type { Aligned } from './series';

/** Equal-width histogram of `values` (the last bin is closed). */
export function histogram(values: ArrayLike<number>, bins: number): Histogram {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  if (!(hi > lo)) {
    const c = Number.isFinite(lo) ? lo : 0;
    lo = c - 0.5;
    hi = c + 0.5;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    counts[Math.min(bins - 1, Math.max(0, Math.floor(((values[i] - lo) / (hi - lo)) * bins)))]++;
  }
  return { edges, counts };
}

/**
 * A histogram as a density (count / (total * bin width), so that it integrates to 1) and the
 * Marchenko-Pastur density (eq. 11, continuous part; the atom at 0 of mass max(0, 1 - c) shows as a
 * tall first bin) on one x grid: the bin edges plus `points` points across the range. The histogram
 * series is piecewise constant (drawn as steps).
 */
export function histogramWithLaw(
  h: Histogram,
  law: Pick<MpSummary, 'c' | 'sigma2'> | null,
  points = 200,
): { data: Aligned; total: number } {
  const total = h.counts.reduce((a, b) => a + b, 0);
  const lo = h.edges[0];
  const hi = h.edges[h.edges.length - 1];
  const mp = law ? marchenkoPastur({ c: law.c, sigma2: law.sigma2 }) : null;
  const xsSet = new Set<number>(h.edges);
  if (mp) {
    const a = Math.min(lo, mp.lower);
    const b = Math.max(hi, mp.upper);
    for (let i = 0; i <= points; i++) xsSet.add(a + ((b - a) * i) / points);
  }
  const xs = [...xsSet].sort((p, q) => p - q);
  const density = h.counts.map((c, i) => (total > 0 ? c / (total * (h.edges[i + 1] - h.edges[i])) : 0));
  const hist = xs.map((x) => {
    if (x < lo || x > hi) return null;
    let i = 0;
    while (i < density.length - 1 && x >= h.edges[i + 1]) i++;
    return density[i];
  });
  const ys: (number | null)[][] = [hist];
  if (mp) ys.push(xs.map((x) => mp.density(x)));
  return { data: { xs, ys }, total };
}
