import { seededRandom } from '@bmp/test-utils/random';
import { describe, expect, it } from 'vitest';
import { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from '../src/schedules';
import { expectCloseSequence, plainTarget } from './schedules-helpers';

/** Feeds the metrics one per epoch and records the learning rate and the return value after each. */
function run(lr: number, metrics: readonly number[], options: ReduceLROnPlateauOptions) {
  const target = plainTarget(lr);
  const schedule = new ReduceLROnPlateau(target, options);
  const lrs: number[] = [];
  const reduced: boolean[] = [];
  for (const m of metrics) {
    reduced.push(schedule.step(m));
    lrs.push(target.learningRate);
  }
  return { lrs, reduced, schedule };
}

// Expected sequences below were derived by hand (the derivation is in the comments) and agree with
// torch 1.13's ReduceLROnPlateau. Tolerance: relative 1e-12 (expectCloseSequence).
describe('ReduceLROnPlateau, hand-computed sequences', () => {
  it("mode 'max' (the paper's use on accuracy): reduces after more than `patience` bad epochs", () => {
    // patience 2: 0.5 and 0.6 improve; 0.6 x3 are bad epochs 1, 2, 3 -> 3 > 2 reduces at step 5;
    // 0.7 improves, then three more bad epochs reduce again at step 9.
    const { lrs, reduced } = run(0.1, [0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7], {
      mode: 'max',
      factor: 0.5,
      patience: 2,
    });
    expectCloseSequence(lrs, [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025]);
    expect(reduced).toEqual([false, false, false, false, true, false, false, false, true]);
  });

  it("thresholdMode 'rel': an improvement must beat best * (1 - threshold)", () => {
    // threshold 0.1, patience 1. best: 10; 9.5 < 9? no (bad 1); 8.9 < 9 yes (best 8.9);
    // 8.5 < 8.01? no (bad 1); 8.2 no (bad 2 > 1: lr 0.1); 7.0 < 8.01 yes (best 7);
    // 6.4 < 6.3? no (bad 1); 6.4 no (bad 2: lr 0.01).
    const { lrs, schedule } = run(1, [10, 9.5, 8.9, 8.5, 8.2, 7.0, 6.4, 6.4], {
      factor: 0.1,
      patience: 1,
      threshold: 0.1,
    });
    expectCloseSequence(lrs, [1, 1, 1, 1, 0.1, 0.1, 0.1, 0.01]);
    expect(schedule.best).toBe(7.0);
  });

  it("thresholdMode 'abs': the same metrics all improve by more than 0.1, so nothing is reduced", () => {
    // 9.5 < 9.9, 8.9 < 9.4, 8.5 < 8.8, 8.2 < 8.4, 7.0 < 8.1, 6.4 < 6.9; only the last 6.4 is bad.
    const { lrs, schedule } = run(1, [10, 9.5, 8.9, 8.5, 8.2, 7.0, 6.4, 6.4], {
      factor: 0.1,
      patience: 1,
      threshold: 0.1,
      thresholdMode: 'abs',
    });
    expectCloseSequence(lrs, [1, 1, 1, 1, 1, 1, 1, 1]);
    expect(schedule.best).toBe(6.4);
    expect(schedule.numBadEpochs).toBe(1);
  });

  it("mode 'max' with 'abs' threshold: a rise of exactly the threshold is not an improvement", () => {
    // best 0.5; 0.75 > 0.5 + 0.25? no (ties are bad epochs); 0.875 > 0.75 yes.
    const { schedule, reduced } = run(1, [0.5, 0.75], { mode: 'max', threshold: 0.25, thresholdMode: 'abs' });
    expect(schedule.best).toBe(0.5);
    expect(schedule.numBadEpochs).toBe(1);
    schedule.step(0.875);
    expect(schedule.best).toBe(0.875);
    expect(reduced).toEqual([false, false]);
  });

  it('cooldown: bad epochs during cooldown are not counted', () => {
    // patience 0, cooldown 2, constant metric. Step 1 sets best. Step 2: bad 1 > 0 -> 0.5, cooldown 2.
    // Steps 3, 4: in cooldown (counter 2 -> 1 -> 0), bad epochs reset. Step 5: 0.25. Period 3.
    const { lrs, reduced, schedule } = run(1, [5, 5, 5, 5, 5, 5, 5, 5], {
      factor: 0.5,
      patience: 0,
      cooldown: 2,
    });
    expectCloseSequence(lrs, [1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]);
    expect(reduced).toEqual([false, true, false, false, true, false, false, true]);
    expect(schedule.cooldownCounter).toBe(2);
    expect(schedule.inCooldown).toBe(true);
  });

  it('cooldown: an improvement during cooldown still updates best', () => {
    // patience 0, cooldown 1: 5 (best), 5 (reduce, cooldown 1), 4 (better during cooldown, best 4),
    // 4 (bad 1 > 0: reduce).
    const { lrs, schedule } = run(1, [5, 5, 4, 4], { factor: 0.5, patience: 0, cooldown: 1 });
    expectCloseSequence(lrs, [1, 0.5, 0.5, 0.25]);
    expect(schedule.best).toBe(4);
  });

  it('minLr bounds the learning rate; a reduction to the same value is not applied', () => {
    // factor 0.1, patience 0: 1 -> 0.1 -> 0.01 -> max(0.001, 0.003) = 0.003 -> 0.003 (0 <= eps: no-op).
    const { lrs, reduced } = run(1, [5, 5, 5, 5, 5], { factor: 0.1, patience: 0, minLr: 0.003 });
    expectCloseSequence(lrs, [1, 0.1, 0.01, 0.003, 0.003]);
    expect(reduced).toEqual([false, true, true, true, false]);
  });

  it('eps: a reduction smaller than eps (default 1e-8) is skipped', () => {
    // 3e-8 -> 1.5e-8 (a change of 1.5e-8 > 1e-8); then a change of 7.5e-9 <= 1e-8 is skipped.
    const { lrs, reduced, schedule } = run(3e-8, [5, 5, 5, 5], { factor: 0.5, patience: 0 });
    expectCloseSequence(lrs, [3e-8, 1.5e-8, 1.5e-8, 1.5e-8]);
    expect(reduced).toEqual([false, true, false, false]);
    // A skipped reduction still restarts the bad-epoch count, as in PyTorch.
    expect(schedule.numBadEpochs).toBe(0);
    const larger = run(3e-8, [5, 5, 5], { factor: 0.5, patience: 0, eps: 2e-8 });
    expectCloseSequence(larger.lrs, [3e-8, 3e-8, 3e-8]);
    // The comparison is strict: a change of exactly eps (1 -> 0.5 with eps 0.5) is skipped too.
    const exact = run(1, [5, 5], { factor: 0.5, patience: 0, eps: 0.5 });
    expect(exact.lrs).toEqual([1, 1]);
  });

  it("keeps PyTorch's 'rel' arithmetic for negative metrics (best * 0.9 is above a negative best)", () => {
    // best -10; -9.5 < -10 * 0.9 = -9: counts as better in PyTorch although it is worse.
    const { schedule } = run(1, [-10, -9.5], { threshold: 0.1 });
    expect(schedule.best).toBe(-9.5);
    expect(schedule.numBadEpochs).toBe(0);
  });

  it('starts from best = +Infinity (min) / -Infinity (max), so the first finite metric improves', () => {
    const min = new ReduceLROnPlateau(plainTarget(1));
    const max = new ReduceLROnPlateau(plainTarget(1), { mode: 'max' });
    expect(min.best).toBe(Number.POSITIVE_INFINITY);
    expect(max.best).toBe(Number.NEGATIVE_INFINITY);
    min.step(1e300);
    max.step(-1e300);
    expect([min.best, max.best, min.numBadEpochs, max.numBadEpochs]).toEqual([1e300, -1e300, 0, 0]);
  });

  it('defaults are those of PyTorch', () => {
    expect(new ReduceLROnPlateau(plainTarget(1)).options).toEqual({
      mode: 'min',
      factor: 0.1,
      patience: 10,
      threshold: 1e-4,
      thresholdMode: 'rel',
      cooldown: 0,
      minLr: 0,
      eps: 1e-8,
    });
    // patience 10: the 11th bad epoch (12th step) reduces, not the 10th.
    const { lrs } = run(1, Array(12).fill(1), {});
    expect(lrs.slice(10)).toEqual([1, 0.1]);
  });
});

describe('ReduceLROnPlateau, against torch fixtures', () => {
  // Produced by torch 1.13 (ReduceLROnPlateau(SGD(lr=0.1), mode='max', factor=0.5, patience=3,
  // threshold=0.01, threshold_mode='abs', cooldown=2, min_lr=0.02)) on an accuracy-like sequence with
  // ties at the threshold (0.30 -> 0.31 is not an improvement in floating point). Same arithmetic in the
  // same order, so equality is exact.
  const metrics = [
    0.3, 0.3, 0.31, 0.3, 0.3, 0.3, 0.32, 0.32, 0.32, 0.34, 0.34, 0.36, 0.36, 0.36, 0.36, 0.37, 0.38, 0.38,
    0.38, 0.38, 0.4, 0.41, 0.41, 0.43, 0.43, 0.43, 0.42, 0.41, 0.43, 0.43, 0.45, 0.47, 0.48, 0.48, 0.48, 0.48,
    0.5, 0.5, 0.5, 0.51,
  ];
  const expected = [
    ...Array(4).fill(0.1),
    ...Array(11).fill(0.05),
    ...Array(12).fill(0.025),
    ...Array(13).fill(0.02),
  ];

  it('reproduces the learning-rate sequence exactly', () => {
    const { lrs } = run(0.1, metrics, {
      mode: 'max',
      factor: 0.5,
      patience: 3,
      threshold: 0.01,
      thresholdMode: 'abs',
      cooldown: 2,
      minLr: 0.02,
    });
    expect(lrs).toEqual(expected);
  });
});

/**
 * An independent transliteration of PyTorch's ReduceLROnPlateau.step (closure state, no classes),
 * used to check random option combinations.
 */
function torchReference(lr0: number, o: Required<ReduceLROnPlateauOptions>) {
  let lr = lr0;
  let best = o.mode === 'min' ? Infinity : -Infinity;
  let bad = 0;
  let cooldown = 0;
  const relEps = o.mode === 'min' ? 1 - o.threshold : o.threshold + 1;
  const isBetter = (a: number) => {
    if (o.mode === 'min') return o.thresholdMode === 'rel' ? a < best * relEps : a < best - o.threshold;
    return o.thresholdMode === 'rel' ? a > best * relEps : a > best + o.threshold;
  };
  return (metric: number): number => {
    if (isBetter(metric)) {
      best = metric;
      bad = 0;
    } else {
      bad += 1;
    }
    if (cooldown > 0) {
      cooldown -= 1;
      bad = 0;
    }
    if (bad > o.patience) {
      const next = Math.max(lr * o.factor, o.minLr);
      if (lr - next > o.eps) lr = next;
      cooldown = o.cooldown;
      bad = 0;
    }
    return lr;
  };
}

describe('ReduceLROnPlateau, against an independent re-implementation', () => {
  it('agrees exactly on 200 random option sets and metric walks', () => {
    const rand = seededRandom(2018); // mulberry32: deterministic, so failures reproduce
    for (let trial = 0; trial < 200; trial++) {
      const options: Required<ReduceLROnPlateauOptions> = {
        mode: rand() < 0.5 ? 'min' : 'max',
        factor: [0.1, 0.5, 0.9][Math.floor(rand() * 3)],
        patience: Math.floor(rand() * 4),
        threshold: [0, 1e-4, 0.01, 0.1][Math.floor(rand() * 4)],
        thresholdMode: rand() < 0.5 ? 'rel' : 'abs',
        cooldown: Math.floor(rand() * 3),
        minLr: rand() < 0.5 ? 0 : 1e-3,
        eps: rand() < 0.5 ? 1e-8 : 1e-3,
      };
      const reference = torchReference(0.1, options);
      const target = plainTarget(0.1);
      const schedule = new ReduceLROnPlateau(target, options);
      let metric = rand() * 2 - 1; // negative metrics exercise the 'rel' quirk too
      for (let epoch = 0; epoch < 60; epoch++) {
        metric = Math.round((metric + (rand() - 0.5) * 0.1) * 100) / 100; // rounding makes ties
        const expected = reference(metric);
        schedule.step(metric);
        if (target.learningRate !== expected) {
          expect.fail(
            `trial ${trial} epoch ${epoch + 1} ${JSON.stringify(options)}: ${target.learningRate} vs ${expected}`,
          );
        }
      }
    }
  });
});

describe('ReduceLROnPlateau, errors', () => {
  it('throws on a NaN metric, naming the value, and leaves the state unchanged', () => {
    const target = plainTarget(1);
    const schedule = new ReduceLROnPlateau(target, { patience: 0 });
    schedule.step(1);
    expect(() => schedule.step(Number.NaN)).toThrow(/metric is NaN/);
    expect([schedule.lastEpoch, schedule.numBadEpochs, target.learningRate]).toEqual([1, 0, 1]);
    expect(() => schedule.step('0.5' as unknown as number)).toThrow(/metric must be a number.*0\.5/);
  });

  it('accepts infinite metrics as PyTorch does (an infinite loss is a bad epoch)', () => {
    const { lrs } = run(1, [1, Number.POSITIVE_INFINITY], { patience: 0 });
    expect(lrs).toEqual([1, 0.1]);
  });

  it.each([
    [{ factor: 1 }, /factor must be a number in \(0, 1\), got 1/],
    [{ factor: 1.5 }, /factor/],
    [{ factor: 0 }, /factor/],
    [{ factor: -0.5 }, /factor/],
    [{ factor: Number.NaN }, /factor/],
    [{ patience: -1 }, /patience must be an integer >= 0, got -1/],
    [{ patience: 1.5 }, /patience/],
    [{ cooldown: -1 }, /cooldown/],
    [{ threshold: -1e-4 }, /threshold/],
    [{ threshold: 1 }, /threshold must be < 1 in mode 'min'/],
    [{ minLr: -1 }, /minLr/],
    [{ eps: -1 }, /eps/],
    [{ mode: 'maximum' }, /mode must be one of 'min', 'max', got 'maximum'/],
    [{ thresholdMode: 'relative' }, /thresholdMode/],
    [{ min_lr: 0.1 }, /unknown option 'min_lr'/],
  ])('rejects %j', (options, message) => {
    expect(() => new ReduceLROnPlateau(plainTarget(1), options as ReduceLROnPlateauOptions)).toThrow(message);
  });

  it("allows threshold >= 1 in mode 'max' (best * 2 is still a meaningful bar)", () => {
    expect(() => new ReduceLROnPlateau(plainTarget(1), { mode: 'max', threshold: 1 })).not.toThrow();
  });

  it('rejects a target without setLearningRate or with a non-finite learning rate', () => {
    expect(() => new ReduceLROnPlateau({ learningRate: 1 } as never)).toThrow(/setLearningRate/);
    expect(() => new ReduceLROnPlateau(plainTarget(Number.NaN))).toThrow(/target\.learningRate/);
  });
});
