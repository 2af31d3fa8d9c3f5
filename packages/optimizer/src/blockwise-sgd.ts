import type { Block } from '@bmp/hessian';
import * as tf from '@tensorflow/tfjs-core';
import { allBound, type BoundBlock, bindBlocks, toNamedBlock } from './block-binding';
import { assertFiniteGradients } from './finite-check';
import { type GradientEntry, gradientEntries, type NamedTensor } from './gradient-entries';
import {
  checkLearningRate,
  type NamedBlock,
  type ResolvedOptions,
  resolveOptions,
  type SGDOptions,
} from './options';
import { findRenamed } from './renamed-variables';

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

const MOMENTUM_SUFFIX = '/momentum';

/**
 * Momentum SGD with PyTorch semantics in which each block's gradient may be multiplied by a scalar
 * tensor. `MomentumSGD` multiplies by nothing; `ScaleAmendedSGD` by 1 / (m * m_{b,W}). Both share this
 * one code path so that paired comparisons differ only by the amendment.
 *
 * Per variable and step: g' = (g + weightDecay * W) * scale; v <- momentum * v + g';
 * W <- W - lr * v (Nesterov: W <- W - lr * (g' + momentum * v)). With momentum 0 no slot is kept.
 */
export abstract class BlockwiseSGD extends tf.Optimizer {
  protected readonly options: ResolvedOptions;
  protected readonly blockSpecs: ReadonlyArray<Block | NamedBlock>;
  private bound: BoundBlock[] | null = null;
  private readonly slots = new Map<string, Slot>();
  /** Slots restored by setWeights, keyed by saved variable name, claimed by the variables of the next step. */
  private restoredSlots = new Map<string, tf.Variable>();
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

  private bindFor(entries: readonly GradientEntry[]): readonly BoundBlock[] {
    const names = entries.map((e) => e.name);
    if (this.bound == null) this.bound = bindBlocks(this.blockSpecs, this.options.positionScaling, names);
    if (this.restoredSlots.size > 0) this.claimRestoredSlots(names);
    return this.bound;
  }

  /** Gives restored momentum slots to this step's variables, following tfjs-layers renames. */
  private claimRestoredSlots(names: readonly string[]): void {
    for (const [saved, variable] of this.restoredSlots) {
      const live = findRenamed(saved, names);
      if (live == null) continue;
      this.slots.get(live)?.variable.dispose();
      this.slots.set(live, { originalName: `${live}${MOMENTUM_SUFFIX}`, variable });
      this.restoredSlots.delete(saved);
    }
  }

  /**
   * Called inside the step's tidy before any weight changes: returns the scale tensor per block
   * name (blocks missing from the map are not scaled).
   */
  protected abstract blockScales(blocks: readonly BoundBlock[]): Map<string, tf.Scalar>;

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries = gradientEntries(variableGradients);
    const blocks = this.bindFor(entries);
    if (this.options.checkFinite) assertFiniteGradients(entries);
    this.noteFrozenBlocks(blocks, entries);
    tf.tidy(() => {
      const scales = this.blockScales(blocks);
      for (const entry of entries) {
        if (entry.gradient != null) this.update(entry, scales.get(entry.name));
      }
    });
    this.incrementIterations();
  }

  private update({ name, variable, gradient }: GradientEntry, scale: tf.Scalar | undefined): void {
    const { momentum, weightDecay, nesterov } = this.options;
    let g = gradient as tf.Tensor;
    if (weightDecay > 0) g = tf.add(g, tf.mul(this.wd, variable));
    if (scale != null) g = tf.mul(g, scale);
    let step = g;
    if (momentum > 0) {
      const slot = this.slot(name, variable).variable;
      const v = tf.add(tf.mul(this.mu, slot), g);
      slot.assign(v);
      step = nesterov ? tf.add(g, tf.mul(this.mu, v)) : v;
    }
    variable.assign(tf.sub(variable, tf.mul(this.lr, step)));
  }

  private slot(name: string, variable: tf.Variable): Slot {
    let slot = this.slots.get(name);
    if (slot == null) {
      slot = {
        originalName: `${name}${MOMENTUM_SUFFIX}`,
        variable: tf.tidy(() => tf.zerosLike(variable).variable(false)),
      };
      this.slots.set(name, slot);
    }
    return slot;
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

  override async getWeights(): Promise<NamedTensor[]> {
    const slots = [...this.slots.values()].map((s) => ({ name: s.originalName, tensor: s.variable }));
    const unclaimed = [...this.restoredSlots].map(([saved, tensor]) => ({
      name: `${saved}${MOMENTUM_SUFFIX}`,
      tensor,
    }));
    return [await this.saveIterations(), ...slots, ...unclaimed];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    for (const { name } of rest) {
      if (!name.endsWith(MOMENTUM_SUFFIX)) {
        throw new Error(
          `setWeights: unexpected optimizer weight '${name}' (expected '<variable>${MOMENTUM_SUFFIX}')`,
        );
      }
    }
    this.disposeSlots();
    // Claimed at the next step by that step's variables, which a reloaded LayersModel may have renamed.
    for (const { name, tensor } of rest) {
      this.restoredSlots.set(name.slice(0, -MOMENTUM_SUFFIX.length), tensor.variable(false));
    }
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

  private disposeSlots(): void {
    for (const { variable } of this.slots.values()) variable.dispose();
    for (const variable of this.restoredSlots.values()) variable.dispose();
    this.slots.clear();
    this.restoredSlots.clear();
  }

  override dispose(): void {
    this.disposeSlots();
    tf.dispose([this.lr, this.mu, this.wd]);
    super.dispose();
  }
}
