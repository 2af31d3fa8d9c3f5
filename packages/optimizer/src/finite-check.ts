import * as tf from '@tensorflow/tfjs-core';
import type { GradientEntry } from './gradient-entries';

/**
 * Throws, naming the first offending variable, if any gradient holds NaN or +-Infinity.
 * One reduction per gradient and one download for the whole step: a sum is non-finite exactly when an
 * element is non-finite or the sum overflows float32 (|sum| > 3.4e38), which is just as unusable.
 */
export function assertFiniteGradients(entries: readonly GradientEntry[]): void {
  const present = entries.filter((e) => e.gradient != null);
  if (present.length === 0) return;
  const sums = tf.tidy(() => tf.stack(present.map((e) => tf.sum(e.gradient as tf.Tensor))));
  const values = sums.dataSync();
  sums.dispose();
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new Error(
      `non-finite gradient for variable '${present[bad].name}' (sum = ${values[bad]}); no weight was updated`,
    );
  }
}
