import { integerAtLeast, optionRecord, positiveFinite } from './checks';
import { EpochSchedule, type EpochScheduleState } from './epoch-schedule';
import type { LearningRateTarget } from './types';

export interface StepLROptions {
  /** Epochs between two decays (PyTorch's `step_size`). */
  stepSize: number;
  /** Multiplicative decay. Default 0.1. */
  gamma?: number;
}

export type StepLRState = EpochScheduleState<'StepLR', Required<StepLROptions>>;

const KNOWN = ['stepSize', 'gamma'];

/**
 * Mirrors `torch.optim.lr_scheduler.StepLR`: after `epoch` calls to `step()`,
 * lr = baseLr * gamma^floor(epoch / stepSize), computed in closed form from the base learning rate
 * (PyTorch's `_get_closed_form_lr`; its `step()` multiplies instead, which agrees up to rounding).
 * Call `step()` once per epoch, after the epoch's optimizer steps.
 */
export class StepLR extends EpochSchedule<'StepLR', Required<StepLROptions>> {
  constructor(target: LearningRateTarget, options: StepLROptions) {
    super('StepLR', target, options);
  }

  protected resolveOptions(options: unknown): Required<StepLROptions> {
    const o = optionRecord('StepLR', options, KNOWN, '{ stepSize: 30 }');
    return {
      stepSize: integerAtLeast('StepLR', 'stepSize', o.stepSize, 1),
      gamma: positiveFinite('StepLR', 'gamma', o.gamma ?? 0.1),
    };
  }

  protected closedForm(baseLr: number, epoch: number, options: Required<StepLROptions>): number {
    return baseLr * options.gamma ** Math.floor(epoch / options.stepSize);
  }
}
