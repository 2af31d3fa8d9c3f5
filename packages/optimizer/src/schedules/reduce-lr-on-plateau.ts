import {
  checkTarget,
  finiteAtLeast,
  fromJsonNumber,
  integerAtLeast,
  type JsonNumber,
  oneOf,
  optionRecord,
  stateRecord,
  toJsonNumber,
} from './checks';
import type { LearningRateSchedule, LearningRateTarget, ScheduleState } from './types';

export interface ReduceLROnPlateauOptions {
  /** 'min': the metric should fall (a loss); 'max': it should rise (an accuracy). Default 'min'. */
  mode?: 'min' | 'max';
  /** New lr = old lr * factor. Default 0.1; must be in (0, 1). The paper uses 0.5. */
  factor?: number;
  /** Epochs without improvement tolerated before the reduction. Default 10 (the paper's value). */
  patience?: number;
  /** Smallest change that counts as an improvement. Default 1e-4. */
  threshold?: number;
  /** 'rel': relative to the best value so far; 'abs': absolute. Default 'rel'. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs after a reduction during which bad epochs are not counted. Default 0. */
  cooldown?: number;
  /** Lower bound on the learning rate. Default 0. */
  minLr?: number;
  /** A reduction smaller than eps is not applied. Default 1e-8. */
  eps?: number;
}

export interface ReduceLROnPlateauState extends ScheduleState {
  readonly kind: 'ReduceLROnPlateau';
  readonly version: 1;
  readonly options: Required<ReduceLROnPlateauOptions>;
  /** Best metric so far; 'Infinity'/'-Infinity' before the first step (JSON has no Infinity). */
  readonly best: JsonNumber;
  readonly numBadEpochs: number;
  readonly cooldownCounter: number;
  readonly lastEpoch: number;
  /** The target's learning rate when the state was taken (PyTorch keeps it in the optimizer). */
  readonly learningRate: number;
}

const OWNER = 'ReduceLROnPlateau';
const KNOWN = ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'];

function resolveOptions(options: unknown): Required<ReduceLROnPlateauOptions> {
  const o = optionRecord(OWNER, options, KNOWN, "{ mode: 'max', factor: 0.5, patience: 10 }");
  const factor = o.factor ?? 0.1;
  // PyTorch only rejects factor >= 1; a factor <= 0 would make the learning rate zero or negative.
  if (typeof factor !== 'number' || !(factor > 0 && factor < 1)) {
    throw new RangeError(`${OWNER}: factor must be a number in (0, 1), got ${String(factor)}`);
  }
  const mode = oneOf(OWNER, 'mode', o.mode ?? 'min', ['min', 'max'] as const);
  const thresholdMode = oneOf(OWNER, 'thresholdMode', o.thresholdMode ?? 'rel', ['rel', 'abs'] as const);
  const threshold = finiteAtLeast(OWNER, 'threshold', o.threshold ?? 1e-4, 0);
  // In 'min'/'rel' mode, best * (1 - threshold) would be <= 0 (NaN for the initial +Infinity best),
  // so no positive metric could ever count as an improvement.
  if (mode === 'min' && thresholdMode === 'rel' && threshold >= 1) {
    throw new RangeError(
      `${OWNER}: threshold must be < 1 in mode 'min' with thresholdMode 'rel', got ${threshold}`,
    );
  }
  return {
    mode,
    factor,
    patience: integerAtLeast(OWNER, 'patience', o.patience ?? 10, 0),
    threshold,
    thresholdMode,
    cooldown: integerAtLeast(OWNER, 'cooldown', o.cooldown ?? 0, 0),
    minLr: finiteAtLeast(OWNER, 'minLr', o.minLr ?? 0, 0),
    eps: finiteAtLeast(OWNER, 'eps', o.eps ?? 1e-8, 0),
  };
}

/**
 * Mirrors `torch.optim.lr_scheduler.ReduceLROnPlateau`: multiplies the learning rate by `factor` when
 * the metric has not improved for more than `patience` epochs. Call `step(metric)` once per epoch
 * with the validation metric. The paper uses `{ mode: 'max', factor: 0.5, patience: 10 }` on
 * validation accuracy.
 */
export class ReduceLROnPlateau implements LearningRateSchedule {
  readonly kind = OWNER;
  readonly target: LearningRateTarget;
  private resolved: Required<ReduceLROnPlateauOptions>;
  private bestValue: number;
  private badEpochs = 0;
  private cooldownLeft = 0;
  private epoch = 0;

  constructor(target: LearningRateTarget, options: ReduceLROnPlateauOptions = {}) {
    this.target = checkTarget(OWNER, target);
    this.resolved = resolveOptions(options);
    this.bestValue = this.worst();
  }

  get options(): Readonly<Required<ReduceLROnPlateauOptions>> {
    return { ...this.resolved };
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  /** Best metric so far (+Infinity in 'min' mode, -Infinity in 'max' mode before the first step). */
  get best(): number {
    return this.bestValue;
  }

  get numBadEpochs(): number {
    return this.badEpochs;
  }

  get cooldownCounter(): number {
    return this.cooldownLeft;
  }

  get inCooldown(): boolean {
    return this.cooldownLeft > 0;
  }

  /** Records one epoch's metric; returns true when it reduced the learning rate. */
  step(metric: number): boolean {
    if (typeof metric !== 'number') {
      throw new TypeError(`${OWNER}.step: metric must be a number, got ${typeof metric} ${String(metric)}`);
    }
    if (Number.isNaN(metric)) {
      // PyTorch would count NaN as a bad epoch and quietly decay; a NaN metric is a bug to surface.
      throw new RangeError(
        `${OWNER}.step: metric is NaN (epoch ${this.epoch + 1}); check the validation metric`,
      );
    }
    this.epoch += 1;
    if (this.isBetter(metric, this.bestValue)) {
      this.bestValue = metric;
      this.badEpochs = 0;
    } else {
      this.badEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownLeft -= 1;
      this.badEpochs = 0; // bad epochs during cooldown are ignored
    }
    if (this.badEpochs <= this.resolved.patience) return false;
    const reduced = this.reduce();
    // As in PyTorch, cooldown and the bad-epoch count restart even if eps blocked the reduction.
    this.cooldownLeft = this.resolved.cooldown;
    this.badEpochs = 0;
    return reduced;
  }

  state(): ReduceLROnPlateauState {
    return {
      kind: OWNER,
      version: 1,
      options: { ...this.resolved },
      best: toJsonNumber(this.bestValue),
      numBadEpochs: this.badEpochs,
      cooldownCounter: this.cooldownLeft,
      lastEpoch: this.epoch,
      learningRate: this.target.learningRate,
    };
  }

  loadState(state: unknown): void {
    const record = stateRecord(OWNER, state, 1);
    const where = `${OWNER}.loadState`;
    // Validate everything before changing anything, so a bad state leaves the schedule untouched.
    const options = resolveOptions(record.options);
    const best = fromJsonNumber(where, 'best', record.best);
    const numBadEpochs = integerAtLeast(where, 'numBadEpochs', record.numBadEpochs, 0);
    const cooldownCounter = integerAtLeast(where, 'cooldownCounter', record.cooldownCounter, 0);
    const lastEpoch = integerAtLeast(where, 'lastEpoch', record.lastEpoch, 0);
    const learningRate = finiteAtLeast(where, 'learningRate', record.learningRate, 0);
    this.resolved = options;
    this.bestValue = best;
    this.badEpochs = numBadEpochs;
    this.cooldownLeft = cooldownCounter;
    this.epoch = lastEpoch;
    this.target.setLearningRate(learningRate);
  }

  private worst(): number {
    return this.resolved.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  /** PyTorch's `is_better`, including its rel-mode arithmetic for negative metrics. */
  private isBetter(a: number, best: number): boolean {
    const { mode, thresholdMode, threshold } = this.resolved;
    if (mode === 'min' && thresholdMode === 'rel') return a < best * (1 - threshold);
    if (mode === 'min') return a < best - threshold;
    if (thresholdMode === 'rel') return a > best * (threshold + 1);
    return a > best + threshold;
  }

  private reduce(): boolean {
    const old = this.target.learningRate;
    const next = Math.max(old * this.resolved.factor, this.resolved.minLr);
    if (!(old - next > this.resolved.eps)) return false;
    this.target.setLearningRate(next);
    return true;
  }
}
