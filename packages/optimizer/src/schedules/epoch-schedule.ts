import { checkTarget, finiteAtLeast, integerAtLeast, stateRecord } from './checks';
import type { LearningRateSchedule, LearningRateTarget, ScheduleState } from './types';

/** Saved state of a schedule whose learning rate is a closed-form function of the epoch. */
export interface EpochScheduleState<Kind extends string, Options> extends ScheduleState {
  readonly kind: Kind;
  readonly version: 1;
  readonly options: Options;
  /** The target's learning rate when the schedule was created (PyTorch's `base_lrs[0]`). */
  readonly baseLr: number;
  readonly lastEpoch: number;
}

/**
 * Base of the epoch-driven schedules (StepLR, MultiStepLR, CosineAnnealingLR). The learning rate is
 * recomputed from the base learning rate at every step (PyTorch's `_get_closed_form_lr`) rather than
 * by multiplying the previous one, so long runs do not accumulate rounding drift and a restored run
 * reproduces the uninterrupted one bit for bit. Like PyTorch, creating the schedule leaves the
 * learning rate as it is (epoch 0 has the base learning rate).
 */
export abstract class EpochSchedule<Kind extends string, Options extends object>
  implements LearningRateSchedule
{
  readonly target: LearningRateTarget;
  private resolved: Options;
  private base: number;
  private epoch = 0;

  protected constructor(
    private readonly kindName: Kind,
    target: LearningRateTarget,
    options: unknown,
  ) {
    this.target = checkTarget(kindName, target);
    this.resolved = this.resolveOptions(options);
    this.base = target.learningRate;
  }

  /** Validates raw options (constructor or saved state) and fills in defaults. */
  protected abstract resolveOptions(options: unknown): Options;

  /** The closed-form learning rate at `epoch` for base learning rate `baseLr`. */
  protected abstract closedForm(baseLr: number, epoch: number, options: Options): number;

  get kind(): Kind {
    return this.kindName;
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  get baseLr(): number {
    return this.base;
  }

  get options(): Readonly<Options> {
    return structuredClone(this.resolved);
  }

  /** The learning rate this schedule gives after `epoch` calls to `step()`. */
  learningRateAt(epoch: number): number {
    integerAtLeast(this.kindName, 'epoch', epoch, 0);
    return this.closedForm(this.base, epoch, this.resolved);
  }

  /** Advances one epoch, sets the target's learning rate and returns it. */
  step(): number {
    this.epoch += 1;
    const lr = this.closedForm(this.base, this.epoch, this.resolved);
    this.target.setLearningRate(lr);
    return lr;
  }

  state(): EpochScheduleState<Kind, Options> {
    return {
      kind: this.kindName,
      version: 1,
      options: structuredClone(this.resolved),
      baseLr: this.base,
      lastEpoch: this.epoch,
    };
  }

  loadState(state: unknown): void {
    const record = stateRecord(this.kindName, state, 1);
    // Validate everything before changing anything, so a bad state leaves the schedule untouched.
    const options = this.resolveOptions(record.options);
    const baseLr = finiteAtLeast(`${this.kindName}.loadState`, 'baseLr', record.baseLr, 0);
    const lastEpoch = integerAtLeast(`${this.kindName}.loadState`, 'lastEpoch', record.lastEpoch, 0);
    this.resolved = options;
    this.base = baseLr;
    this.epoch = lastEpoch;
    this.target.setLearningRate(this.closedForm(baseLr, lastEpoch, options));
  }
}
