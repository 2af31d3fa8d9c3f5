import type * as tf from '@tensorflow/tfjs-core';
import type { BoundBlock } from './block-binding';
import { BlockwiseSGD } from './blockwise-sgd';
import type { SGDOptions } from './options';

/**
 * Momentum SGD with PyTorch semantics (weight decay added to the gradient, v <- mu v + g,
 * W <- W - lr v, optional Nesterov). It takes exactly the options of `ScaleAmendedSGD` and runs the
 * same code path minus the amendment, so the two can be compared run for run.
 */
export class MomentumSGD extends BlockwiseSGD {
  static get className(): string {
    return 'MomentumSGD';
  }

  protected blockScales(_blocks: readonly BoundBlock[]): Map<string, tf.Scalar> {
    return new Map();
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config as unknown as SGDOptions);
  }
}
