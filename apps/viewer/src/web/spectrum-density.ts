/**
 * What a spectrum chart draws: a density curve from a measure that is the spectrum (every exact
 * eigenvalue) or estimates it (SLQ: all probes' Gauss rules, with a band across probes), the Lanczos
 * extremes as markers, and the Marchenko-Pastur density where it applies. Never a histogram of a few
 * Ritz values: they are extremes, not a sample of the spectrum. Eigenvalues spanning more than two
 * decades go on a log axis (density per decade); the mass at 0 (and on a log axis below it) is stated
 * apart, never drawn as a spike that flattens the rest.
 */
import type { MarchenkoPastur as MpSummary, SlqDensity } from '@bmp/runlog';
import {
  type DiscreteMeasure,
  empiricalMeasure,
  marchenkoPastur,
  probeMeasures,
  type SmoothedDensity,
  smoothedDensity,
} from '@bmp/spectra';
import type { ChartSpec } from './chart';
import type { Aligned } from './series';

export interface PlotInput {
  /** Every eigenvalue (a dense decomposition). */
  exact?: ArrayLike<number>;
  slq?: SlqDensity;
  /** Lanczos Ritz values at the ends, and which met the residual tolerance. */
  extremes?: { values: number[]; converged?: boolean[] };
  /** |lambda| at or below this is zero (the rank tolerance). */
  zeroTolerance: number;
  law?: Pick<MpSummary, 'c' | 'sigma2'> | null;
  /** Eigenvalue axis: 'auto' (default: log10 past two decades), or forced. */
  scale?: 'auto' | 'linear' | 'log10';
}

export interface PlotSeries {
  label: string;
  color: string;
  kind?: 'line' | 'points';
  width?: number;
  dash?: number[];
  fill?: string;
}

export interface SpectrumPlot {
  logX: boolean;
  yLabel: string;
  data: Aligned;
  series: PlotSeries[];
  /** [upper, lower] series indexes of the SLQ band. */
  bands: { upper: number; lower: number; fill: string }[];
  /** The zero and negative mass, and what is not drawn. */
  note: string;
}

/** "SLQ, k probes x m steps" (the first probe's steps when it is the extremes' run). */
export function slqLabel(d: SlqDensity): string {
  const first = d.firstProbeSteps !== undefined && d.firstProbeSteps !== d.lanczosSteps;
  return `SLQ, ${d.probes} probes x ${d.lanczosSteps} steps${first ? ` (first ${d.firstProbeSteps})` : ''}`;
}

function slqMeasures(d: SlqDensity): DiscreteMeasure[] {
  const offsets = d.probeOffsets;
  if (offsets && offsets.length === d.probes + 1)
    return probeMeasures({
      probes: d.probes,
      nodes: Float64Array.from(d.nodes),
      weights: Float64Array.from(d.weights),
      probeOffsets: Uint32Array.from(offsets),
    });
  return [{ nodes: d.nodes, weights: d.weights }];
}

const pct = (x: number) => `${(100 * x).toPrecision(3)}%`;

/** The plot of one spectrum, or null when there is nothing to draw a density or a marker from. */
export function spectrumPlot(input: PlotInput): SpectrumPlot | null {
  const tol = input.zeroTolerance;
  const curves: { label: string; color: string; d: SmoothedDensity; dash?: number[]; band: boolean }[] = [];
  let scale: 'auto' | 'linear' | 'log10' = input.scale ?? 'auto';
  if (input.exact && input.exact.length > 0) {
    const d = smoothedDensity([empiricalMeasure(input.exact)], { zeroTolerance: tol, scale });
    scale = d.scale;
    curves.push({ label: `exact, ${input.exact.length} eigenvalues`, color: '#1f77b4', d, band: false });
  }
  if (input.slq && input.slq.nodes.length > 0) {
    const d = smoothedDensity(slqMeasures(input.slq), { zeroTolerance: tol, scale });
    scale = d.scale;
    const overlay = curves.length > 0;
    curves.push({
      label: slqLabel(input.slq),
      color: overlay ? '#ff7f0e' : '#1f77b4',
      d,
      dash: overlay ? [6, 4] : undefined,
      band: true,
    });
  }
  const logX = scale === 'log10';
  const markers = (input.extremes?.values ?? []).map((x, i) => ({
    x,
    converged: input.extremes?.converged?.[i] ?? false,
  }));
  const shown = markers.filter((m) => !logX || m.x > tol);
  if (curves.length === 0 && shown.length === 0) return null;

  const columns: { label: string; color: string; points: Map<number, number>; s: Partial<PlotSeries> }[] = [];
  const bands: SpectrumPlot['bands'] = [];
  for (const c of curves) {
    columns.push({
      label: c.label,
      color: c.color,
      points: new Map(c.d.grid.map((x, i) => [x, c.d.density[i]])),
      s: { width: 2, dash: c.dash },
    });
    const se = c.d.standardError;
    if (c.band && se) {
      const upper = columns.length;
      columns.push({
        label: `${c.label}: mean + 2 s.e. across probes`,
        color: `${c.color}66`,
        points: new Map(c.d.grid.map((x, i) => [x, c.d.density[i] + 2 * se[i]])),
        s: { width: 1, dash: [2, 3] },
      });
      columns.push({
        label: `${c.label}: mean - 2 s.e.`,
        color: `${c.color}66`,
        points: new Map(c.d.grid.map((x, i) => [x, Math.max(0, c.d.density[i] - 2 * se[i])])),
        s: { width: 1, dash: [2, 3] },
      });
      bands.push({ upper, lower: upper + 1, fill: `${c.color}22` });
    }
  }
  if (input.law && curves.length > 0) {
    const mp = marchenkoPastur({ c: input.law.c, sigma2: input.law.sigma2 });
    const grid = curves[0].d.grid.filter((x) => x >= mp.lower && x <= mp.upper);
    // Per decade on a log axis: p(log10 x) = p(x) x ln 10.
    const y = (x: number) => (logX ? mp.density(x) * x * Math.LN10 : mp.density(x));
    columns.push({
      label: `Marchenko-Pastur c=${fmtNum(input.law.c)} sigma2=${fmtNum(input.law.sigma2)}`,
      color: '#d62728',
      points: new Map(grid.map((x) => [x, y(x)])),
      s: { width: 2 },
    });
  }
  for (const [conv, label, color] of [
    [true, 'Lanczos extremes, converged', '#2ca02c'],
    [false, 'Lanczos extremes, not converged', '#9467bd'],
  ] as const) {
    const ms = shown.filter((m) => m.converged === conv);
    if (ms.length > 0)
      columns.push({
        label: `${label} (${ms.length})`,
        color,
        points: new Map(ms.map((m) => [m.x, 0])),
        s: { kind: 'points' },
      });
  }
  const xs = [...new Set(columns.flatMap((c) => [...c.points.keys()]))].sort((a, b) => a - b);
  const data: Aligned = { xs, ys: columns.map((c) => xs.map((x) => c.points.get(x) ?? null)) };
  const main = curves[0]?.d;
  const parts: string[] = [];
  if (main) {
    const what = curves[0].label.startsWith('exact') ? 'eigenvalues' : 'estimated mass';
    const zero = `${pct(main.zeroMass)} of the ${what} at |lambda| <= ${fmtNum(tol)} (zero, not in the curve)`;
    parts.push(
      logX
        ? `log axis (density per decade): ${zero}, ${pct(main.negativeMass)} below -${fmtNum(tol)} (not on the axis)`
        : zero,
    );
  }
  if (main) parts.push(`kernel width ${fmtNum(main.sigma)}${logX ? ' decades' : ''}`);
  if (input.slq?.exactDistance) {
    const e = input.slq.exactDistance;
    parts.push(
      `SLQ vs exact: KS ${fmtNum(e.ks)}${e.wasserstein1Relative !== undefined ? `, W1 / range ${fmtNum(e.wasserstein1Relative)}` : ''}`,
    );
  }
  if (curves.length === 0) parts.push('no density in this report: Lanczos extremes only');
  const hidden = markers.length - shown.length;
  if (hidden > 0) parts.push(`${hidden} Ritz value(s) at or below the tolerance not on the log axis`);
  return {
    logX,
    yLabel: logX ? 'density per decade' : 'density',
    data,
    series: columns.map((c) => ({ label: c.label, color: c.color, ...c.s })),
    bands,
    note: parts.join('; '),
  };
}

function fmtNum(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(3);
}

/** The chart of a spectrum plot (the spectra page and the lab draw it alike). */
export function spectrumChartSpec(id: string, title: string, plot: SpectrumPlot): ChartSpec {
  return {
    id,
    title,
    xLabel: plot.logX ? 'eigenvalue (log scale)' : 'eigenvalue',
    yLabel: plot.yLabel,
    logX: plot.logX,
    data: plot.data,
    series: plot.series,
    bands: plot.bands,
  };
}
