export {
  CosineAnnealingLR,
  type CosineAnnealingLROptions,
  type CosineAnnealingLRState,
} from './cosine-annealing-lr';
export type { EpochScheduleState } from './epoch-schedule';
export {
  MultiStepLR,
  type MultiStepLROptions,
  type MultiStepLRState,
  type ResolvedMultiStepLROptions,
} from './multi-step-lr';
export {
  ReduceLROnPlateau,
  type ReduceLROnPlateauOptions,
  type ReduceLROnPlateauState,
} from './reduce-lr-on-plateau';
export { StepLR, type StepLROptions, type StepLRState } from './step-lr';
export type { LearningRateSchedule, LearningRateTarget, ScheduleState } from './types';
