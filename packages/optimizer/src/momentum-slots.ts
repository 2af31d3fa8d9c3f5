import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from './gradient-entries';
import { findRenamed } from './renamed-variables';

const MOMENTUM = '/momentum';
const UNIT = '/momentum_unit';

/**
 * One variable's momentum buffer, kept as v = unit * u. A scaled optimizer puts its per-step scale into
 * `unit` instead of multiplying the gradient by it, which saves a pass over the weights; unit null means 1
 * (MomentumSGD, variables outside every block).
 */
export interface Slot {
  u: tf.Variable;
  unit: tf.Scalar | null;
}

/**
 * The momentum buffers of an optimizer, keyed by variable name. Buffers restored from saved weights wait
 * under their saved names until a step claims them, following tfjs-layers' renames (`x` -> `x_1`).
 */
export class MomentumSlots {
  private readonly live = new Map<string, Slot>();
  private readonly restored = new Map<string, Slot>();

  /** The slot of a variable, created as zeros on first use. */
  get(name: string, variable: tf.Variable): Slot {
    let slot = this.live.get(name);
    if (slot == null) {
      slot = { u: tf.tidy(() => tf.zerosLike(variable).variable(false)), unit: null };
      this.live.set(name, slot);
    }
    return slot;
  }

  /** Commits a step's new buffer and unit (the unit tensor is taken over). */
  update(name: string, u: tf.Tensor, unit: tf.Scalar | null): void {
    const slot = this.live.get(name) as Slot;
    slot.u.assign(u);
    slot.unit?.dispose();
    slot.unit = unit;
  }

  /** Gives restored buffers to this step's variables. */
  claimRestored(names: readonly string[]): void {
    for (const [saved, slot] of this.restored) {
      const name = findRenamed(saved, names);
      if (name == null) continue;
      this.disposeSlot(this.live.get(name));
      this.live.set(name, slot);
      this.restored.delete(saved);
    }
  }

  /** `<variable>/momentum` (u) and, where the unit is not 1, `<variable>/momentum_unit`, per variable. */
  toWeights(): NamedTensor[] {
    const out: NamedTensor[] = [];
    for (const [name, slot] of [...this.live, ...this.restored]) {
      out.push({ name: `${name}${MOMENTUM}`, tensor: slot.u });
      if (slot.unit != null) out.push({ name: `${name}${UNIT}`, tensor: slot.unit });
    }
    return out;
  }

  /** Replaces every buffer by saved ones (the output of toWeights); they are claimed at the next step. */
  fromWeights(weights: readonly NamedTensor[]): void {
    const units = new Map<string, tf.Tensor>();
    const buffers = new Map<string, tf.Tensor>();
    for (const { name, tensor } of weights) {
      if (name.endsWith(UNIT)) units.set(name.slice(0, -UNIT.length), tensor);
      else if (name.endsWith(MOMENTUM)) buffers.set(name.slice(0, -MOMENTUM.length), tensor);
      else
        throw new Error(
          `setWeights: unexpected optimizer weight '${name}' (expected '<variable>${MOMENTUM}')`,
        );
    }
    for (const name of units.keys()) {
      if (!buffers.has(name)) throw new Error(`setWeights: '${name}${UNIT}' has no '${name}${MOMENTUM}'`);
    }
    this.dispose();
    for (const [name, tensor] of buffers) {
      const unit = units.get(name);
      this.restored.set(name, {
        u: tensor.variable(false),
        unit: unit == null ? null : tf.keep(unit.clone() as tf.Scalar),
      });
    }
  }

  private disposeSlot(slot: Slot | undefined): void {
    slot?.u.dispose();
    slot?.unit?.dispose();
  }

  dispose(): void {
    for (const slot of [...this.live.values(), ...this.restored.values()]) this.disposeSlot(slot);
    this.live.clear();
    this.restored.clear();
  }
}
