import { integerAtLeast, optionRecord, positiveFinite } from './checks';
import { EpochSchedule, type EpochScheduleState } from './epoch-schedule';
import type { LearningRateTarget } from './types';

export interface MultiStepLROptions {
  /** Epochs at which the learning rate is multiplied by gamma (positive integers, any order). */
  milestones: readonly number[];
  /** Multiplicative decay. Default 0.1. */
  gamma?: number;
}

export interface ResolvedMultiStepLROptions {
  /** Sorted ascending; a repeated milestone decays twice, as in PyTorch (which keeps a Counter). */
  milestones: number[];
  gamma: number;
}

export type MultiStepLRState = EpochScheduleState<'MultiStepLR', ResolvedMultiStepLROptions>;

const KNOWN = ['milestones', 'gamma'];

/**
 * Mirrors `torch.optim.lr_scheduler.MultiStepLR`: after `epoch` calls to `step()`,
 * lr = baseLr * gamma^(number of milestones <= epoch), computed in closed form from the base learning
 * rate (PyTorch's `_get_closed_form_lr`, `bisect_right` over the sorted milestones).
 */
export class MultiStepLR extends EpochSchedule<'MultiStepLR', ResolvedMultiStepLROptions> {
  constructor(target: LearningRateTarget, options: MultiStepLROptions) {
    super('MultiStepLR', target, options);
  }

  protected resolveOptions(options: unknown): ResolvedMultiStepLROptions {
    const o = optionRecord('MultiStepLR', options, KNOWN, '{ milestones: [100, 150] }');
    if (!Array.isArray(o.milestones)) {
      throw new TypeError(`MultiStepLR: milestones must be an array of epochs, got ${String(o.milestones)}`);
    }
    const milestones = o.milestones.map((m: unknown, i: number) =>
      integerAtLeast('MultiStepLR', `milestones[${i}]`, m, 1),
    );
    return {
      milestones: milestones.sort((a, b) => a - b),
      gamma: positiveFinite('MultiStepLR', 'gamma', o.gamma ?? 0.1),
    };
  }

  protected closedForm(baseLr: number, epoch: number, options: ResolvedMultiStepLROptions): number {
    let passed = 0;
    for (const m of options.milestones) if (m <= epoch) passed += 1;
    return baseLr * options.gamma ** passed;
  }
}
