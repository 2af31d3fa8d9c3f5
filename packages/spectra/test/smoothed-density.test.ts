import { describe, expect, it } from 'vitest';
import { probeMeasures, smoothedDensity } from '../src';

/** Trapezoid rule over a (possibly log-spaced) grid, in the grid's own coordinate. */
function integral(u: number[], f: number[]): number {
  let s = 0;
  for (let i = 1; i < u.length; i++) s += 0.5 * (f[i] + f[i - 1]) * (u[i] - u[i - 1]);
  return s;
}

describe('smoothedDensity', () => {
  it('linear: one atom gives the Gaussian kernel, which integrates to 1', () => {
    const d = smoothedDensity([{ nodes: [1, 3], weights: [0.5, 0.5] }], { zeroTolerance: 0 });
    expect(d.scale).toBe('linear');
    // span 2, width 1/40 of it: sigma 0.05; the grid covers +-3 sigma beyond the nodes.
    expect(d.sigma).toBeCloseTo(0.05, 12);
    expect(d.grid[0]).toBeCloseTo(1 - 0.15, 12);
    // Trapezoid on 160 points over +-3 sigma: the tails beyond 3 sigma hold 0.27% of each bump.
    expect(Math.abs(integral(d.grid, d.density) - 0.9973)).toBeLessThan(2e-3);
    expect(Math.max(...d.density)).toBeLessThanOrEqual(0.5 / (0.05 * Math.sqrt(2 * Math.PI)) + 1e-12);
    expect(d.standardError).toBeUndefined();
  });

  it('log10 when the spectrum spans more than two decades; zero and negative mass apart', () => {
    const m = { nodes: [-1e-3, 1e-12, 0.01, 1, 100], weights: [0.1, 0.3, 0.2, 0.2, 0.2] };
    const d = smoothedDensity([m], { zeroTolerance: 1e-9 });
    expect(d.scale).toBe('log10');
    expect(d.zeroMass).toBeCloseTo(0.3, 15);
    expect(d.negativeMass).toBeCloseTo(0.1, 15);
    // Per decade: integrates over log10(x) to the positive mass, 0.6 (minus the 3-sigma tails).
    const u = d.grid.map(Math.log10);
    expect(Math.abs(integral(u, d.density) - 0.6 * 0.9973)).toBeLessThan(2e-3);
    // sigma = 4 decades / 40 = 0.1 decade; the peak at 10^0 is 0.2 / (0.1 sqrt(2 pi)).
    expect(d.sigma).toBeCloseTo(0.1, 12);
    const at1 = d.density[u.reduce((best, x, i) => (Math.abs(x) < Math.abs(u[best]) ? i : best), 0)];
    expect(Math.abs(at1 - 0.2 / (0.1 * Math.sqrt(2 * Math.PI)))).toBeLessThan(0.05);
    // Linear: the zero mass is still apart (not a spike at 0), the negative node is on the axis.
    const lin = smoothedDensity([m], { zeroTolerance: 1e-9, scale: 'linear' });
    expect(lin.scale).toBe('linear');
    expect(lin.zeroMass).toBeCloseTo(0.3, 15);
    expect(Math.abs(integral(lin.grid, lin.density) - 0.7 * 0.9973)).toBeLessThan(5e-3);
  });

  it('the band: the standard error across probes, |d1 - d2| / 2 for two probes', () => {
    const p1 = { nodes: [0, 1], weights: [0.5, 0.5] };
    const p2 = { nodes: [0, 1], weights: [0.7, 0.3] };
    const d = smoothedDensity([p1, p2], { zeroTolerance: 0 });
    const d1 = smoothedDensity([p1], { zeroTolerance: 0, relativeWidth: 1 / 40 });
    const d2 = smoothedDensity([p2], { zeroTolerance: 0 });
    // sample sd of two values is |d1 - d2| / sqrt 2; over sqrt 2 for the mean's standard error.
    for (let g = 0; g < d.grid.length; g += 17) {
      expect(d.density[g]).toBeCloseTo((d1.density[g] + d2.density[g]) / 2, 12);
      expect(d.standardError![g]).toBeCloseTo(Math.abs(d1.density[g] - d2.density[g]) / 2, 12);
    }
  });

  it('probeMeasures splits an estimate back into its probes, each of weight 1', () => {
    const e = {
      probes: 2,
      nodes: Float64Array.from([1, 2, 3]),
      weights: Float64Array.from([0.25, 0.25, 0.5]),
      probeOffsets: Uint32Array.from([0, 2, 3]),
    };
    const [a, b] = probeMeasures(e);
    expect(Array.from(a.nodes)).toEqual([1, 2]);
    expect(Array.from(a.weights)).toEqual([0.5, 0.5]);
    expect(Array.from(b.weights)).toEqual([1]);
  });
});
