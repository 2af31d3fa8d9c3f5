/**
 * Anything whose learning rate a schedule can drive: `ScaleAmendedSGD`, `MomentumSGD`, or a plain
 * object in a custom training loop.
 */
export interface LearningRateTarget {
  readonly learningRate: number;
  setLearningRate(lr: number): void;
}

/** What every schedule's `state()` returns: a JSON-serialisable plain object tagged with its kind. */
export interface ScheduleState {
  readonly kind: string;
  readonly version: number;
}

/** The part common to all schedules (`step` differs: ReduceLROnPlateau takes a metric). */
export interface LearningRateSchedule {
  /** The object whose learning rate this schedule sets. */
  readonly target: LearningRateTarget;
  /** Number of `step` calls so far (PyTorch's `last_epoch`). */
  readonly lastEpoch: number;
  /** A plain object that survives `JSON.stringify`/`JSON.parse` and restores this schedule exactly. */
  state(): ScheduleState;
  /**
   * Restores what `state()` returned (options included) and sets the target's learning rate to the
   * saved one, so a fresh schedule on a fresh optimizer continues where the saved run stopped.
   */
  loadState(state: unknown): void;
}
