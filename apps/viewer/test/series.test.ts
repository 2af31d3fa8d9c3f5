import { describe, expect, it } from 'vitest';
import { RunColors } from '../src/web/colors';
import { alignSeries, positiveOnly, runCurve, seedBands, smoothPoints } from '../src/web/series';
import { epochLine, runOf } from './helpers';

describe('alignSeries', () => {
  it('puts every series on the sorted union of x values, null where a series has no point', () => {
    const a = alignSeries([
      [
        { x: 2, y: 20 },
        { x: 1, y: 10 },
      ],
      [{ x: 3, y: 30 }],
    ]);
    expect(a.xs).toEqual([1, 2, 3]);
    expect(a.ys).toEqual([
      [10, 20, null],
      [null, null, 30],
    ]);
  });
});

describe('smoothPoints', () => {
  it("is TensorBoard's debiased EMA (hand values for weight 0.5)", () => {
    // last_1 = 0.5*1 = 0.5 -> 0.5/(1-0.5) = 1; last_2 = 0.25 + 0.5*3 = 1.75 -> 1.75/0.75 = 7/3;
    // last_3 = 0.875 + 0.5*2 = 1.875 -> 1.875/0.875 = 15/7.
    const out = smoothPoints(
      [
        { x: 0, y: 1 },
        { x: 1, y: 3 },
        { x: 2, y: 2 },
      ],
      0.5,
    );
    const expected = [1, 7 / 3, 15 / 7];
    out.forEach((p, i) => {
      expect(p.x).toBe(i);
      expect(p.y).toBeCloseTo(expected[i], 12);
    });
  });
  it('leaves the series alone at weight 0', () => {
    const pts = [
      { x: 0, y: 5 },
      { x: 1, y: -1 },
    ];
    expect(smoothPoints(pts, 0)).toEqual(pts);
  });
});

describe('positiveOnly', () => {
  it('drops the points a log axis cannot show', () => {
    expect(
      positiveOnly([
        { x: 0, y: 0 },
        { x: 1, y: -2 },
        { x: 2, y: 0.5 },
      ]),
    ).toEqual([{ x: 2, y: 0.5 }]);
  });
});

describe('runCurve', () => {
  const run = runOf('r', [
    epochLine({ epoch: 0, step: 10, testError: 0.6, wallTime: 1000 }),
    JSON.stringify({ type: 'step', v: 1, step: 5, wallTime: 999, loss: 2.5, lr: 0.1 }),
    epochLine({ epoch: 1, step: 20, testError: 0.4, wallTime: 1010 }),
  ]);
  it('plots epoch records after n epochs (x = epoch + 1)', () => {
    expect(runCurve(run, 'testError', 'epoch')).toEqual([
      { x: 1, y: 0.6 },
      { x: 2, y: 0.4 },
    ]);
  });
  it('takes train loss against step from the step records', () => {
    expect(runCurve(run, 'trainLoss', 'step')).toEqual([{ x: 5, y: 2.5 }]);
  });
  it('measures wall time from the first record of the run', () => {
    expect(runCurve(run, 'testError', 'relativeTime').map((p) => p.x)).toEqual([1, 11]);
  });
});

describe('seedBands', () => {
  it('gives mean and mean -+ sample std across seeds per optimizer (hand values)', () => {
    // sgd seeds: test error at epoch 0 = 0.2, 0.4, 0.9 -> mean 0.5, sample var ((0.3^2+0.1^2+0.4^2)/2) = 0.13.
    const runs = [
      runOf('a', [epochLine({ seed: 0, testError: 0.2 }), epochLine({ seed: 0, epoch: 1, testError: 0.1 })]),
      runOf('b', [epochLine({ seed: 1, testError: 0.4 })]),
      runOf('c', [epochLine({ seed: 2, testError: 0.9 })]),
      runOf('d', [epochLine({ seed: 0, optimizer: 'scale-amended', testError: 0.3 })]),
      runOf('e', [epochLine({ seed: 0, compareId: null, testError: 0.7 })]),
    ];
    const bands = seedBands(runs, 'testError');
    expect(bands.map((b) => b.name)).toEqual(['cmp / sgd', 'cmp / scale-amended', '(no comparison) / sgd']);
    const sgd = bands[0];
    expect(sgd.runs).toEqual(['a', 'b', 'c']);
    expect(sgd.mean[0].x).toBe(1);
    expect(sgd.mean[0].y).toBeCloseTo(0.5, 12);
    const std = Math.sqrt(0.13);
    expect(sgd.lower[0].y).toBeCloseTo(0.5 - std, 12);
    expect(sgd.upper[0].y).toBeCloseTo(0.5 + std, 12);
    expect(sgd.n).toEqual([3, 1]);
    // epoch 1: only run a -> mean 0.1, no spread.
    expect(sgd.mean[1]).toEqual({ x: 2, y: 0.1 });
    expect(sgd.lower[1].y).toBeCloseTo(0.1, 15);
    expect(bands[1].mean).toEqual([{ x: 1, y: 0.3 }]);
  });
});

describe('RunColors', () => {
  it('keeps a colour per run whatever the order the names come in', () => {
    const a = new RunColors(['b', 'a', 'c']);
    const b = new RunColors(['c', 'b', 'a']);
    for (const n of ['a', 'b', 'c']) expect(a.get(n)).toBe(b.get(n));
    expect(new Set(['a', 'b', 'c'].map((n) => a.get(n))).size).toBe(3);
  });
});
