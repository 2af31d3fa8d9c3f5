import type { Block } from '@bmp/hessian';
import * as tf from '@tensorflow/tfjs-core';
import { allBound, type BoundBlock, bindBlocks, toNamedBlock } from './block-binding';
import { assertFiniteValues, stackProbes } from './finite-check';
import { type GradientEntry, gradientEntries, type NamedTensor } from './gradient-entries';
import { MomentumSlots } from './momentum-slots';
import { momentumStepKernel } from './momentum-step-kernel';
import {
  checkLearningRate,
  type NamedBlock,
  type ResolvedOptions,
  resolveOptions,
  type SGDOptions,
} from './options';

/** A variable's new value, momentum buffer and finiteness probe, kept until the step is committed. */
interface PendingUpdate {
  entry: GradientEntry;
  value: tf.Tensor;
  u: tf.Tensor | null;
  unit: tf.Scalar | null;
  probe: tf.Scalar | null;
}

/**
 * Momentum SGD with PyTorch semantics in which each block's gradient may be multiplied by a scalar
 * tensor. `MomentumSGD` multiplies by nothing; `ScaleAmendedSGD` by 1 / (m * m_{b,W}). Both share this
 * one code path so that paired comparisons differ only by the amendment.
 *
 * Per variable and step: g' = (g + weightDecay * W) * scale; v <- momentum * v + g';
 * W <- W - lr * v (Nesterov: W <- W - lr * (g' + momentum * v)). With momentum 0 no buffer is kept.
 */
export abstract class BlockwiseSGD extends tf.Optimizer {
  protected readonly options: ResolvedOptions;
  protected readonly blockSpecs: ReadonlyArray<Block | NamedBlock>;
  private bound: BoundBlock[] | null = null;
  private readonly slots = new MomentumSlots();
  private lr: tf.Scalar;
  private readonly mu: tf.Scalar;
  private readonly wd: tf.Scalar;
  private readonly warn: (message: string) => void;
  private readonly frozenReported = new Set<string>();
  /** Names of the blocks that got no gradient in the last step. */
  protected frozenLastStep = new Set<string>();

  // tf.Optimizer makes `instanceof` duck-typed for every subclass (any optimizer would be an
  // instanceof ScaleAmendedSGD); restore the ordinary prototype check for ours.
  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass being tested against
    return Function.prototype[Symbol.hasInstance].call(this, instance);
  }

  constructor(options: SGDOptions) {
    super();
    this.options = resolveOptions(options);
    this.blockSpecs = [...(options.blocks ?? [])];
    this.warn = options.onWarning ?? ((message) => console.warn(message));
    if (allBound(this.blockSpecs)) this.bound = bindBlocks(this.blockSpecs, this.options.positionScaling);
    this.lr = tf.keep(tf.scalar(this.options.learningRate));
    this.mu = tf.keep(tf.scalar(this.options.momentum));
    this.wd = tf.keep(tf.scalar(this.options.weightDecay));
  }

  /** The current learning rate. */
  get learningRate(): number {
    return this.options.learningRate;
  }

  setLearningRate(learningRate: number): void {
    (this.options as { learningRate: number }).learningRate = checkLearningRate(learningRate);
    this.lr.dispose();
    this.lr = tf.keep(tf.scalar(learningRate));
  }

  /** The blocks bound to their variables, in forward order. Named blocks bind at the first step. */
  protected get blocks(): readonly BoundBlock[] {
    if (this.bound == null) this.bound = bindBlocks(this.blockSpecs, this.options.positionScaling);
    return this.bound;
  }

  /**
   * Called inside the step's tidy before any weight changes: returns the scale tensor per block
   * name (blocks missing from the map are not scaled).
   */
  protected abstract blockScales(blocks: readonly BoundBlock[]): Map<string, tf.Scalar>;

  /**
   * Optionally gives, inside the step's tidy, the finiteness probe of a variable from its new value
   * (see finite-check.ts); null means the gradient's sum. Subclasses that reduce the new value anyway
   * (ScaleAmendedSGD: ||W||_F^2 for the next step) save a pass this way.
   */
  protected updateProbe(_name: string, _newValue: tf.Tensor): tf.Scalar | null {
    return null;
  }

  /** After a step: `committed` tells whether the new values were assigned (false: the step threw). */
  protected endStep(_committed: boolean): void {}

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const pending = this.prepareStep(variableGradients);
    const probes = this.options.checkFinite ? stackProbes(pending.map((p) => p.probe as tf.Scalar)) : null;
    let values: ArrayLike<number> | null = null;
    try {
      values = probes?.dataSync() ?? null;
    } catch (err) {
      this.discardStep(pending);
      throw err;
    } finally {
      probes?.dispose();
    }
    this.commitStep(pending, values);
  }

  /**
   * `applyGradients` with the finiteness check read asynchronously: the same arithmetic and result, for
   * backends that cannot download synchronously (tfjs-backend-webgpu in Node) or should not (a browser's
   * GPU backends, where a synchronous read stalls the page).
   */
  async applyGradientsAsync(variableGradients: tf.NamedTensorMap | NamedTensor[]): Promise<void> {
    const pending = this.prepareStep(variableGradients);
    const probes = this.options.checkFinite ? stackProbes(pending.map((p) => p.probe as tf.Scalar)) : null;
    let values: ArrayLike<number> | null = null;
    try {
      values = probes == null ? null : await probes.data();
    } catch (err) {
      this.discardStep(pending);
      throw err;
    } finally {
      probes?.dispose();
    }
    this.commitStep(pending, values);
  }

  /** Every new value, computed before anything is assigned, so that a bad gradient changes nothing. */
  private prepareStep(variableGradients: tf.NamedTensorMap | NamedTensor[]): PendingUpdate[] {
    const entries = gradientEntries(variableGradients);
    const names = entries.map((e) => e.name);
    if (this.bound == null) this.bound = bindBlocks(this.blockSpecs, this.options.positionScaling, names);
    this.slots.claimRestored(names);
    this.noteFrozenBlocks(this.bound, entries);
    const pending: PendingUpdate[] = [];
    tf.tidy(() => {
      const scales = this.blockScales(this.blocks);
      for (const entry of entries) {
        if (entry.gradient == null) continue;
        const { value, u, unit } = this.nextValues(entry, scales.get(entry.name));
        const probe =
          this.updateProbe(entry.name, value) ??
          (this.options.checkFinite ? (tf.sum(entry.gradient) as tf.Scalar) : null);
        pending.push({
          entry,
          value: tf.keep(value),
          u: u && tf.keep(u),
          unit: unit && tf.keep(unit),
          probe: probe && tf.keep(probe),
        });
      }
    });
    return pending;
  }

  /** Assigns the new values, unless a probe (read as `probeValues`) is not finite: then nothing changes. */
  private commitStep(pending: PendingUpdate[], probeValues: ArrayLike<number> | null): void {
    try {
      if (probeValues != null)
        assertFiniteValues(
          pending.map((p) => p.entry.name),
          probeValues,
        );
    } catch (err) {
      this.discardStep(pending);
      throw err;
    }
    for (const { entry, value, u, unit } of pending) {
      if (u != null) this.slots.update(entry.name, u, unit);
      entry.variable.assign(value);
    }
    tf.dispose(pending.flatMap((p) => [p.value, p.u, p.probe].filter((t) => t != null)));
    this.endStep(true);
    this.incrementIterations();
  }

  private discardStep(pending: PendingUpdate[]): void {
    tf.dispose(pending.flatMap((p) => [p.value, p.u, p.unit, p.probe].filter((t) => t != null)));
    this.endStep(false);
  }

  /**
   * The new weight and momentum buffer of one variable. The buffer is kept as v = unit * u so that the
   * scale enters only scalar factors (no extra pass over the weights):
   *   u' = (momentum * unit / scale) * u + g,  unit' = scale,  W' = W - (lr * scale) * u'
   *   (Nesterov: W' = W - (lr * scale) * (g + momentum * u')), with g = gradient + weightDecay * W,
   * which is v' = momentum * v + scale * g and W' = W - lr * v' exactly in real arithmetic.
   */
  private nextValues({ name, variable, gradient }: GradientEntry, scale: tf.Scalar | undefined) {
    const { momentum, weightDecay, nesterov } = this.options;
    const rate = scale == null ? this.lr : tf.mul(this.lr, scale);
    let g = gradient as tf.Tensor;
    if (momentum === 0) {
      if (weightDecay > 0) g = tf.add(g, tf.mul(this.wd, variable));
      return { value: tf.sub(variable, tf.mul(rate, g)), u: null, unit: null };
    }
    const slot = this.slots.get(name, variable);
    let decay: tf.Scalar = slot.unit == null ? this.mu : tf.mul(this.mu, slot.unit);
    if (scale != null) decay = tf.div(decay, scale);
    // The same operations in one pass where the backend has the kernel (same bits).
    const fused = momentumStepKernel(
      { variable, gradient: g, u: slot.u, wd: this.wd, decay, rate: rate as tf.Scalar, mu: this.mu },
      { weightDecay: weightDecay > 0, nesterov },
    );
    if (fused != null) return { value: fused.value, u: fused.u, unit: scale ?? null };
    if (weightDecay > 0) g = tf.add(g, tf.mul(this.wd, variable));
    const u = tf.add(tf.mul(decay, slot.u), g);
    const step = nesterov ? tf.add(g, tf.mul(this.mu, u)) : u;
    return { value: tf.sub(variable, tf.mul(rate, step)), u, unit: scale ?? null };
  }

  private noteFrozenBlocks(blocks: readonly BoundBlock[], entries: readonly GradientEntry[]): void {
    const withGradient = new Set(entries.filter((e) => e.gradient != null).map((e) => e.name));
    this.frozenLastStep = new Set(blocks.filter((b) => !withGradient.has(b.name)).map((b) => b.name));
    for (const name of this.frozenLastStep) {
      if (this.frozenReported.has(name)) continue;
      this.frozenReported.add(name);
      this.warn(
        `${this.getClassName()}: block '${name}' received no gradient; it is treated as frozen (not updated) and still passes its mZ down`,
      );
    }
  }

  /**
   * `[iter, <variable>/momentum..., <variable>/momentum_unit...]`: the buffer u and, for scaled
   * variables, its unit (v = unit * u). Restoring them with setWeights continues a run bit for bit.
   * `iter` is a new tensor (the caller disposes it); like tfjs's own optimizers, the buffers are the
   * live ones: read them before the next step and do not dispose them.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    return [await this.saveIterations(), ...this.slots.toWeights()];
  }

  /** Restores getWeights' output; buffers are claimed at the next step, following tfjs-layers renames. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.slots.fromWeights(await this.extractIterations(weightValues));
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { learningRate, momentum, weightDecay, nesterov, positionScaling, checkFinite } = this.options;
    return {
      learningRate,
      momentum,
      weightDecay,
      nesterov,
      positionScaling,
      checkFinite,
      blocks: this.blockSpecs.map(toNamedBlock) as unknown as tf.serialization.ConfigDictArray,
    };
  }

  override dispose(): void {
    this.slots.dispose();
    tf.dispose([this.lr, this.mu, this.wd]);
    super.dispose();
  }
}
