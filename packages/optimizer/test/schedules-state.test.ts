import { describe, expect, it } from 'vitest';
import {
  CosineAnnealingLR,
  type LearningRateTarget,
  MultiStepLR,
  ReduceLROnPlateau,
  StepLR,
} from '../src/schedules';
import { plainTarget } from './schedules-helpers';

/** A deterministic metric for epoch e: improves, then plateaus with small wiggles. */
const metric = (e: number) => Math.min(0.6, 0.3 + 0.02 * e) + ((e * 7) % 5) * 0.001;

interface Driven {
  target: LearningRateTarget;
  advance(epoch: number): void;
  state(): object;
  loadState(state: unknown): void;
}

const cases: Array<[string, (target: LearningRateTarget) => Driven]> = [
  [
    'ReduceLROnPlateau',
    (target) => {
      const s = new ReduceLROnPlateau(target, {
        mode: 'max',
        factor: 0.5,
        patience: 2,
        cooldown: 1,
        minLr: 1e-3,
      });
      return {
        target,
        advance: (e) => s.step(metric(e)),
        state: () => s.state(),
        loadState: (x) => s.loadState(x),
      };
    },
  ],
  [
    'StepLR',
    (target) => {
      const s = new StepLR(target, { stepSize: 4, gamma: 0.3 });
      return { target, advance: () => s.step(), state: () => s.state(), loadState: (x) => s.loadState(x) };
    },
  ],
  [
    'MultiStepLR',
    (target) => {
      const s = new MultiStepLR(target, { milestones: [3, 9, 20], gamma: 0.2 });
      return { target, advance: () => s.step(), state: () => s.state(), loadState: (x) => s.loadState(x) };
    },
  ],
  [
    'CosineAnnealingLR',
    (target) => {
      const s = new CosineAnnealingLR(target, { tMax: 7, etaMin: 0.002 });
      return { target, advance: () => s.step(), state: () => s.state(), loadState: (x) => s.loadState(x) };
    },
  ],
];

// A restored run must reproduce the uninterrupted one exactly (no tolerance): same arithmetic, same inputs.
describe.each(cases)('%s state()/loadState()', (kind, make) => {
  const EPOCHS = 30;

  function uninterrupted(): number[] {
    const d = make(plainTarget(0.1));
    const lrs: number[] = [];
    for (let e = 1; e <= EPOCHS; e++) {
      d.advance(e);
      lrs.push(d.target.learningRate);
    }
    return lrs;
  }

  it.each([0, 1, 5, 13, 29])(
    'save after %i epochs, restore into a fresh schedule and target, continue',
    (n) => {
      const first = make(plainTarget(0.1));
      const lrs: number[] = [];
      for (let e = 1; e <= n; e++) {
        first.advance(e);
        lrs.push(first.target.learningRate);
      }
      const saved = JSON.parse(JSON.stringify(first.state()));
      expect(saved.kind).toBe(kind);
      expect(saved.version).toBe(1);

      // Fresh target at another learning rate, fresh schedule: loadState must bring both back.
      const second = make(plainTarget(7));
      second.loadState(saved);
      expect(second.state()).toEqual(saved);
      expect(second.target.learningRate).toBe(first.target.learningRate);
      for (let e = n + 1; e <= EPOCHS; e++) {
        second.advance(e);
        lrs.push(second.target.learningRate);
      }
      expect(lrs).toEqual(uninterrupted());
    },
  );

  it('rejects the state of another kind, naming both kinds', () => {
    const other = cases.find(([k]) => k !== kind)!;
    const foreign = other[1](plainTarget(0.1)).state();
    const d = make(plainTarget(0.1));
    expect(() => d.loadState(foreign)).toThrow(new RegExp(`kind '${other[0]}', expected '${kind}'`));
  });

  it('rejects a non-object, another version, and a corrupted field, leaving the schedule unchanged', () => {
    const d = make(plainTarget(0.1));
    d.advance(1);
    const before = d.state() as Record<string, unknown>;
    expect(() => d.loadState(null)).toThrow(/state must be an object/);
    expect(() => d.loadState({ ...before, version: 2 })).toThrow(/unsupported state version 2/);
    expect(() => d.loadState({ ...before, lastEpoch: -1 })).toThrow(/lastEpoch must be an integer >= 0/);
    expect(() => d.loadState({ ...before, options: undefined })).toThrow(/options must be an object/);
    expect(d.state()).toEqual(before);
  });
});

describe('ReduceLROnPlateau state', () => {
  it('survives JSON with best = -Infinity before the first step', () => {
    const s = new ReduceLROnPlateau(plainTarget(0.1), { mode: 'max' });
    const saved = JSON.parse(JSON.stringify(s.state()));
    expect(saved.best).toBe('-Infinity');
    const restored = new ReduceLROnPlateau(plainTarget(0.1));
    restored.loadState(saved);
    expect(restored.best).toBe(Number.NEGATIVE_INFINITY);
    expect(restored.options.mode).toBe('max');
  });

  it('restores the counters and the options', () => {
    const target = plainTarget(0.1);
    const s = new ReduceLROnPlateau(target, { factor: 0.5, patience: 0, cooldown: 3 });
    s.step(1);
    s.step(1); // reduces, cooldown 3
    s.step(2); // cooldown 2
    const restored = new ReduceLROnPlateau(plainTarget(1));
    restored.loadState(JSON.parse(JSON.stringify(s.state())));
    expect([restored.best, restored.cooldownCounter, restored.numBadEpochs, restored.lastEpoch]).toEqual([
      1, 2, 0, 3,
    ]);
    expect(restored.target.learningRate).toBe(0.05);
    expect(restored.options).toEqual(s.options);
  });

  it('rejects a NaN best and invalid saved options, naming them', () => {
    const s = new ReduceLROnPlateau(plainTarget(0.1));
    const saved = s.state();
    expect(() => s.loadState({ ...saved, best: null })).toThrow(/best must be/);
    expect(() => s.loadState({ ...saved, options: { ...saved.options, factor: 2 } })).toThrow(/factor/);
  });
});
