import { finiteAtLeast, integerAtLeast, optionRecord } from './checks';
import { EpochSchedule, type EpochScheduleState } from './epoch-schedule';
import type { LearningRateTarget } from './types';

export interface CosineAnnealingLROptions {
  /** Half period in epochs (PyTorch's `T_max`): the learning rate reaches etaMin after tMax steps. */
  tMax: number;
  /** Lowest learning rate (PyTorch's `eta_min`). Default 0. */
  etaMin?: number;
}

export type CosineAnnealingLRState = EpochScheduleState<
  'CosineAnnealingLR',
  Required<CosineAnnealingLROptions>
>;

const KNOWN = ['tMax', 'etaMin'];

/**
 * Mirrors `torch.optim.lr_scheduler.CosineAnnealingLR`, implementing its closed form
 * (`_get_closed_form_lr`): after t calls to `step()`,
 * lr = etaMin + (baseLr - etaMin) * (1 + cos(pi * t / tMax)) / 2.
 * PyTorch's `step()` uses an equivalent recursive form, which agrees up to rounding when nothing else
 * changes the learning rate. As in PyTorch, past tMax the cosine continues (the learning rate rises
 * again, period 2 * tMax); it is not clamped and there are no warm restarts.
 */
export class CosineAnnealingLR extends EpochSchedule<
  'CosineAnnealingLR',
  Required<CosineAnnealingLROptions>
> {
  constructor(target: LearningRateTarget, options: CosineAnnealingLROptions) {
    super('CosineAnnealingLR', target, options);
  }

  protected resolveOptions(options: unknown): Required<CosineAnnealingLROptions> {
    const o = optionRecord('CosineAnnealingLR', options, KNOWN, '{ tMax: 200 }');
    return {
      tMax: integerAtLeast('CosineAnnealingLR', 'tMax', o.tMax, 1),
      etaMin: finiteAtLeast('CosineAnnealingLR', 'etaMin', o.etaMin ?? 0, 0),
    };
  }

  protected closedForm(baseLr: number, epoch: number, options: Required<CosineAnnealingLROptions>): number {
    const { tMax, etaMin } = options;
    return etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2;
  }
}
