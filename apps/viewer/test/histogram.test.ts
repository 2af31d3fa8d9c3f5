import { marchenkoPastur } from '@bmp/spectra';
import { describe, expect, it } from 'vitest';
import { histogram, histogramWithLaw } from '../src/web/histogram';

describe('histogram', () => {
  it('counts into equal bins, the last one closed (hand counts)', () => {
    const h = histogram([0, 0.1, 0.5, 0.99, 1], 2);
    expect(h.edges).toEqual([0, 0.5, 1]);
    expect(h.counts).toEqual([2, 3]);
  });
  it('gives a constant spectrum one unit-wide bin range around it', () => {
    const h = histogram([2, 2, 2], 4);
    expect(h.edges[0]).toBe(1.5);
    expect(h.edges[4]).toBe(2.5);
    expect(h.counts.reduce((a, b) => a + b)).toBe(3);
  });
});

describe('histogramWithLaw', () => {
  it('draws the histogram as a density that integrates to 1, and the MP density of eq. 11', () => {
    const h = { edges: [0, 1, 3], counts: [1, 3] };
    const law = { c: 2, sigma2: 1 };
    const { data, total } = histogramWithLaw(h, law, 50);
    expect(total).toBe(4);
    // bin densities: 1 / (4 * 1) = 0.25 and 3 / (4 * 2) = 0.375; integral 0.25 + 0.75 = 1.
    const at = (x: number) => data.ys[0][data.xs.indexOf(x)];
    expect(at(0)).toBe(0.25);
    expect(at(1)).toBe(0.375);
    const mp = marchenkoPastur(law);
    data.xs.forEach((x, i) => {
      expect(data.ys[1][i]).toBe(mp.density(x));
    });
    // The grid spans the histogram and the MP support [c_-, c_+] = [(1 - sqrt 2)^2 / 2, (1 + sqrt 2)^2 / 2].
    expect(Math.min(...data.xs)).toBe(0);
    expect(Math.max(...data.xs)).toBe(3);
    expect(mp.upper).toBeCloseTo((1 + Math.SQRT2) ** 2 / 2, 12);
    expect(data.ys[1].filter((y) => (y ?? 0) > 0).length).toBeGreaterThan(30);
  });
});
