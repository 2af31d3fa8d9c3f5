/**
 * The learning-rate schedule of a run: built from the settings, described in config.json, and restored
 * on resume. A cosine schedule that ends with the run is re-planned when --resume changes --epochs.
 */
import {
  CosineAnnealingLR,
  type MomentumSGD,
  ReduceLROnPlateau,
  type ScaleAmendedSGD,
  StepLR,
} from '@bmp/optimizer';
import type { TrainSettings } from './config';

export type Schedule = ReduceLROnPlateau | StepLR | CosineAnnealingLR | null;
type Optimizer = ScaleAmendedSGD | MomentumSGD;

export function makeSchedule(s: TrainSettings, opt: Optimizer, hasVal: boolean): Schedule {
  switch (s.schedule) {
    case 'plateau':
      // validation accuracy when there is a validation split; otherwise the training loss. Never test.
      return new ReduceLROnPlateau(opt, {
        mode: hasVal ? 'max' : 'min',
        factor: s.plateauFactor,
        patience: s.plateauPatience,
      });
    case 'step':
      return new StepLR(opt, { stepSize: s.stepSize, gamma: s.stepGamma });
    case 'cosine':
      return new CosineAnnealingLR(opt, { tMax: s.cosineTMax ?? s.epochs, etaMin: s.cosineEtaMin });
    default:
      return null;
  }
}

/**
 * A cosine schedule re-planned on resume: from the learning rate of epoch `fromEpoch` (1-based, the
 * last one whose rate is already fixed) down to etaMin after epoch `toEpoch`, the run's new last epoch.
 */
export interface Replan {
  fromEpoch: number;
  fromLr: number;
  toEpoch: number;
  /** The epoch (1-based) in which the schedule planned to reach etaMin before. */
  previousEnd: number;
}

/** What config.json says about the schedule in force. */
export function scheduleConfig(
  s: TrainSettings,
  replan?: Replan | null,
): { name: string; [k: string]: unknown } {
  switch (s.schedule) {
    case 'plateau':
      return {
        name: 'plateau',
        factor: s.plateauFactor,
        patience: s.plateauPatience,
        monitor: s.valSplit > 0 ? 'valAccuracy' : 'trainLoss',
      };
    case 'step':
      return { name: 'step', stepSize: s.stepSize, gamma: s.stepGamma };
    case 'cosine':
      return replan
        ? {
            name: 'cosine',
            tMax: replan.toEpoch - replan.fromEpoch + 1,
            etaMin: s.cosineEtaMin,
            replanned: replan,
          }
        : { name: 'cosine', tMax: s.cosineTMax ?? s.epochs, etaMin: s.cosineEtaMin };
    default:
      return { name: 'none' };
  }
}

interface CosineState {
  kind: 'CosineAnnealingLR';
  version: 1;
  options: { tMax: number; etaMin: number };
  baseLr: number;
  lastEpoch: number;
}

/**
 * Restores the schedule of a checkpoint taken at (`epoch`, `batch`) for a run that now ends after
 * `s.epochs` epochs. A cosine schedule that follows the run's length (no --cosine-t-max of its own) and
 * planned another end is re-planned: from the rate of the last epoch already fixed (the one in
 * progress, or the last finished one) down to etaMin after the new last epoch, so the rate never
 * reaches etaMin before the end and never climbs back. Returns the re-plan, or null.
 */
export function restoreSchedule(
  schedule: Schedule,
  state: unknown,
  s: TrainSettings,
  at: { epoch: number; batch: number },
): Replan | null {
  if (!schedule || state == null) return null;
  schedule.loadState(state);
  if (!(schedule instanceof CosineAnnealingLR)) return null;
  const st = state as CosineState;
  const plannedEnd = at.epoch - st.lastEpoch + st.options.tMax;
  const followsRun = s.cosineTMax == null || s.cosineTMax === plannedEnd;
  if (!followsRun || plannedEnd === s.epochs) return null;
  // The anchor is the last epoch whose rate is fixed: the one in progress, else the last finished one.
  const inProgress = at.batch > 0 || st.lastEpoch === 0;
  const anchor = inProgress ? at.epoch : at.epoch - 1;
  const fromLr = inProgress
    ? schedule.learningRateAt(st.lastEpoch)
    : schedule.learningRateAt(st.lastEpoch - 1);
  schedule.loadState({
    ...st,
    options: { tMax: s.epochs - anchor, etaMin: st.options.etaMin },
    baseLr: fromLr,
    lastEpoch: at.epoch - anchor,
  });
  return { fromEpoch: anchor + 1, fromLr, toEpoch: s.epochs, previousEnd: plannedEnd };
}

export function replanLine(r: Replan, etaMin: number, nextLr: number, nextEpoch: number): string {
  return (
    `schedule: cosine re-planned for --epochs ${r.toEpoch} (it ended after epoch ${r.previousEnd}): ` +
    `lr ${Number(nextLr.toPrecision(6))} in epoch ${nextEpoch + 1}, falling to ${etaMin} after epoch ${r.toEpoch}`
  );
}
