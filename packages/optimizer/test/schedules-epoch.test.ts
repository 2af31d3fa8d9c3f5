import { describe, expect, it } from 'vitest';
import { CosineAnnealingLR, MultiStepLR, StepLR } from '../src/schedules';
import { expectCloseSequence, plainTarget } from './schedules-helpers';

function run(schedule: { step(): number; target: { learningRate: number } }, steps: number): number[] {
  const lrs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const lr = schedule.step();
    expect(schedule.target.learningRate).toBe(lr);
    lrs.push(lr);
  }
  return lrs;
}

// Expected values are derived by hand; tolerance relative 1e-12 (expectCloseSequence).
describe('StepLR', () => {
  it('decays by gamma every stepSize epochs: lr = base * gamma^floor(epoch / stepSize)', () => {
    // floor(e / 3) for e = 1..10: 0 0 1 1 1 2 2 2 3 3
    const schedule = new StepLR(plainTarget(0.1), { stepSize: 3 });
    expectCloseSequence(run(schedule, 10), [0.1, 0.1, 0.01, 0.01, 0.01, 1e-3, 1e-3, 1e-3, 1e-4, 1e-4]);
    expect(schedule.lastEpoch).toBe(10);
  });

  it('leaves the learning rate alone at construction (epoch 0 has the base learning rate)', () => {
    const target = plainTarget(0.3);
    const schedule = new StepLR(target, { stepSize: 1, gamma: 0.5 });
    expect(target.learningRate).toBe(0.3);
    expect(schedule.learningRateAt(0)).toBe(0.3);
    expectCloseSequence(run(schedule, 3), [0.15, 0.075, 0.0375]);
  });

  it('is computed from the base learning rate, so it does not drift over long runs', () => {
    const schedule = new StepLR(plainTarget(0.1), { stepSize: 1, gamma: 0.99 });
    const lrs = run(schedule, 1000);
    expect(lrs[999]).toBe(0.1 * 0.99 ** 1000);
    // Something else changing the learning rate in between does not shift the schedule.
    schedule.target.setLearningRate(123);
    expect(schedule.step()).toBe(0.1 * 0.99 ** 1001);
  });

  it.each([
    [{ stepSize: 0 }, /stepSize must be an integer >= 1, got 0/],
    [{ stepSize: -2 }, /stepSize/],
    [{ stepSize: 1.5 }, /stepSize/],
    [{}, /stepSize must be an integer >= 1, got undefined/],
    [{ stepSize: 2, gamma: 0 }, /gamma must be a finite number > 0, got 0/],
    [{ stepSize: 2, gamma: -0.1 }, /gamma/],
    [{ stepSize: 2, gamma: Number.POSITIVE_INFINITY }, /gamma/],
    [{ step_size: 2 }, /unknown option 'step_size'/],
  ])('rejects %j', (options, message) => {
    expect(() => new StepLR(plainTarget(1), options as never)).toThrow(message);
  });

  it('rejects missing options with a TypeError showing an example', () => {
    expect(() => new StepLR(plainTarget(1), undefined as never)).toThrow(/options must be an object such as/);
  });
});

describe('MultiStepLR', () => {
  it('decays by gamma at each milestone', () => {
    // milestones 2, 5: epochs 1..6 have 0 1 1 1 2 2 milestones passed.
    const schedule = new MultiStepLR(plainTarget(1), { milestones: [2, 5], gamma: 0.5 });
    expectCloseSequence(run(schedule, 6), [1, 0.5, 0.5, 0.5, 0.25, 0.25]);
  });

  it('sorts milestones and, like PyTorch, decays twice at a repeated milestone', () => {
    const unsorted = new MultiStepLR(plainTarget(1), { milestones: [5, 2], gamma: 0.5 });
    expectCloseSequence(run(unsorted, 6), [1, 0.5, 0.5, 0.5, 0.25, 0.25]);
    expect(unsorted.options.milestones).toEqual([2, 5]);
    const repeated = new MultiStepLR(plainTarget(1), { milestones: [3, 3], gamma: 0.5 });
    expectCloseSequence(run(repeated, 4), [1, 1, 0.25, 0.25]);
  });

  it('does not keep a reference to the caller array', () => {
    const milestones = [2];
    const schedule = new MultiStepLR(plainTarget(1), { milestones });
    milestones.push(1);
    expect(schedule.learningRateAt(1)).toBe(1);
  });

  it.each([
    [{ milestones: 3 }, /milestones must be an array/],
    [{ milestones: [2, 0] }, /milestones\[1\] must be an integer >= 1, got 0/],
    [{ milestones: [-1] }, /milestones\[0\]/],
    [{ milestones: [1.5] }, /milestones\[0\]/],
    [{ milestones: [2], gamma: 0 }, /gamma/],
  ])('rejects %j', (options, message) => {
    expect(() => new MultiStepLR(plainTarget(1), options as never)).toThrow(message);
  });
});

describe('CosineAnnealingLR', () => {
  it('follows etaMin + (base - etaMin) * (1 + cos(pi t / tMax)) / 2, continuing past tMax', () => {
    // tMax 4: cos(pi/4) = sqrt(1/2), cos(pi/2) = 0, cos(pi) = -1; past tMax the cosine rises again.
    const h = Math.SQRT1_2;
    const schedule = new CosineAnnealingLR(plainTarget(1), { tMax: 4 });
    const lrs = run(schedule, 9);
    expectCloseSequence(lrs, [
      (1 + h) / 2,
      0.5,
      (1 - h) / 2,
      0,
      (1 - h) / 2,
      0.5,
      (1 + h) / 2,
      1,
      (1 + h) / 2,
    ]);
    expect(lrs[3]).toBe(0); // exactly etaMin at tMax
  });

  it('respects etaMin', () => {
    // base 0.1, etaMin 0.01, tMax 3: cos(pi/3) = 1/2, cos(2 pi/3) = -1/2.
    const schedule = new CosineAnnealingLR(plainTarget(0.1), { tMax: 3, etaMin: 0.01 });
    const d = 0.09;
    expectCloseSequence(run(schedule, 6), [
      0.01 + d * 0.75,
      0.01 + d * 0.25,
      0.01,
      0.01 + d * 0.25,
      0.01 + d * 0.75,
      0.1,
    ]);
  });

  it.each([
    [{ tMax: 0 }, /tMax must be an integer >= 1, got 0/],
    [{ tMax: -5 }, /tMax/],
    [{ tMax: 2.5 }, /tMax/],
    [{ tMax: 10, etaMin: -0.1 }, /etaMin must be a finite number >= 0/],
    [{ T_max: 10 }, /unknown option 'T_max'/],
  ])('rejects %j', (options, message) => {
    expect(() => new CosineAnnealingLR(plainTarget(1), options as never)).toThrow(message);
  });
});
