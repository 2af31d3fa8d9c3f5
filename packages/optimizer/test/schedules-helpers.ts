import { expect } from 'vitest';
import type { LearningRateTarget } from '../src/schedules';

/** A plain learning-rate holder, standing in for ScaleAmendedSGD / MomentumSGD. */
export function plainTarget(learningRate: number): LearningRateTarget & { learningRate: number } {
  return {
    learningRate,
    setLearningRate(lr: number) {
      this.learningRate = lr;
    },
  };
}

/** Relative tolerance for values derived by hand: 1e-12 (a few ulps of rounding in either derivation). */
export const REL_TOL = 1e-12;

export function expectCloseSequence(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    const scale = Math.max(Math.abs(expected[i]), Number.MIN_VALUE);
    if (Math.abs(a - expected[i]) > REL_TOL * scale) {
      expect.fail(`step ${i + 1}: got ${a}, expected ${expected[i]} (relative tolerance ${REL_TOL})`);
    }
  });
}
