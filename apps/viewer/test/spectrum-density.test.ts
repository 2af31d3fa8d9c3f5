import { marchenkoPastur, mulberry32 } from '@bmp/spectra';
import { describe, expect, it } from 'vitest';
import { slqLabel, spectrumPlot } from '../src/web/spectrum-density';

/** Trapezoid rule of a series over log10(x), skipping nulls. */
function integralLog10(xs: number[], ys: (number | null)[]): number {
  const pts = xs.flatMap((x, i) => (ys[i] == null ? [] : [[Math.log10(x), ys[i] as number]]));
  let s = 0;
  for (let i = 1; i < pts.length; i++) s += 0.5 * (pts[i][1] + pts[i - 1][1]) * (pts[i][0] - pts[i - 1][0]);
  return s;
}

describe('spectrumPlot', () => {
  it('six Ritz values and no density (an older report): markers only, never a histogram or a curve', () => {
    const plot = spectrumPlot({
      extremes: {
        values: [1e-4, 2e-4, 3e-4, 1, 1.5, 1.9],
        converged: [false, false, false, true, true, true],
      },
      zeroTolerance: 1e-6,
    })!;
    expect(plot.series.map((s) => s.label)).toEqual([
      'Lanczos extremes, converged (3)',
      'Lanczos extremes, not converged (3)',
    ]);
    expect(plot.series.every((s) => s.kind === 'points')).toBe(true);
    expect(plot.note).toContain('Lanczos extremes only');
    expect(spectrumPlot({ zeroTolerance: 0 })).toBeNull();
  });

  it('exact eigenvalues over seven decades with zeros: a log axis, density per decade, zero mass apart', () => {
    const r = mulberry32(1);
    // 12 zeros (within the tolerance) and 60 values log-uniform in [1e-4, 1e3]
    const values = [
      ...Array.from({ length: 12 }, () => 1e-9 * (r() - 0.5)),
      ...Array.from({ length: 60 }, () => 10 ** (-4 + 7 * r())),
    ].sort((a, b) => a - b);
    const plot = spectrumPlot({ exact: values, zeroTolerance: 1e-7 })!;
    expect(plot.logX).toBe(true);
    expect(plot.yLabel).toBe('density per decade');
    expect(plot.series[0].label).toBe('exact, 72 eigenvalues');
    // 12 / 72 = 16.7% at 0, stated in the note; the curve carries the other 60/72 (Gaussian tails beyond
    // the grid's 3 sigma: 0.3%).
    expect(plot.note).toContain('16.7% of the eigenvalues at |lambda| <= 1.00e-7 (zero, not in the curve)');
    expect(Math.abs(integralLog10(plot.data.xs, plot.data.ys[0]) - 60 / 72)).toBeLessThan(0.01);
    expect(plot.data.xs.every((x) => x > 0)).toBe(true);
    // forced linear: the same zero mass apart, the curve over the eigenvalue itself
    const lin = spectrumPlot({ exact: values, zeroTolerance: 1e-7, scale: 'linear' })!;
    expect(lin.logX).toBe(false);
    expect(lin.yLabel).toBe('density');
    expect(lin.note).toContain('16.7% of the eigenvalues');
  });

  it('exact and SLQ together: the SLQ curve dashed with its band (mean +- 2 s.e.) and its distance', () => {
    const slq = {
      method: 'slq',
      probes: 2,
      lanczosSteps: 2,
      firstProbeSteps: 3,
      nodes: [1, 2, 3, 1.5, 2.5],
      weights: [0.1, 0.2, 0.2, 0.25, 0.25],
      probeOffsets: [0, 3, 5],
      exactDistance: { ks: 0.1, wasserstein1Relative: 0.02 },
    };
    expect(slqLabel(slq)).toBe('SLQ, 2 probes x 2 steps (first 3)');
    const plot = spectrumPlot({ exact: [1, 1.5, 2, 2.5, 3], slq, zeroTolerance: 1e-9 })!;
    expect(plot.logX).toBe(false);
    expect(plot.series.map((s) => s.label)).toEqual([
      'exact, 5 eigenvalues',
      'SLQ, 2 probes x 2 steps (first 3)',
      'SLQ, 2 probes x 2 steps (first 3): mean + 2 s.e. across probes',
      'SLQ, 2 probes x 2 steps (first 3): mean - 2 s.e.',
    ]);
    expect(plot.bands).toEqual([{ upper: 2, lower: 3, fill: '#ff7f0e22' }]);
    const [, mean, up, lo] = plot.data.ys;
    plot.data.xs.forEach((_, i) => {
      if (mean[i] == null) return;
      expect(up[i]!).toBeGreaterThanOrEqual(mean[i]!);
      expect(lo[i]!).toBeLessThanOrEqual(mean[i]!);
    });
    expect(plot.note).toContain('SLQ vs exact: KS 0.100, W1 / range 0.0200');
  });

  it('Marchenko-Pastur: the law density on the linear axis, times x ln 10 per decade on the log axis', () => {
    const law = { c: 0.5, sigma2: 1 };
    const mp = marchenkoPastur(law);
    const lin = spectrumPlot({ exact: [0.2, 0.5, 1, 2, 2.8], zeroTolerance: 1e-9, law })!;
    const k = lin.series.findIndex((s) => s.label.startsWith('Marchenko-Pastur'));
    lin.data.xs.forEach((x, i) => {
      const y = lin.data.ys[k][i];
      if (y != null) expect(y).toBeCloseTo(mp.density(x), 12);
    });
    const log = spectrumPlot({ exact: [0.01, 0.5, 1, 2, 2.8], zeroTolerance: 1e-9, law })!;
    expect(log.logX).toBe(true);
    const j = log.series.findIndex((s) => s.label.startsWith('Marchenko-Pastur'));
    log.data.xs.forEach((x, i) => {
      const y = log.data.ys[j][i];
      if (y != null) expect(y).toBeCloseTo(mp.density(x) * x * Math.LN10, 12);
    });
  });
});
