/** The loss and accuracy of a model on a data set (and the two ops the training step shares). */
import type { BatchSource } from './data';
import type { TrainableModel } from './model';
import { tf } from './tf';

export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  const oneHot = tf.oneHot(labels, numClasses);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits as tf.Tensor2D)), 1))) as tf.Scalar;
}

export function correctCount(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar;
}

export async function evaluate(
  model: TrainableModel,
  source: BatchSource,
  numClasses: number,
  what = 'test set',
): Promise<{ loss: number; accuracy: number; count: number }> {
  // Every epoch record carries the test loss and error (@bmp/runlog's schema; the viewer plots them):
  // an empty set would give a made-up 100% error, so it is an error.
  if (source.count === 0) throw new Error(`the ${what} is empty: no images to evaluate`);
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for await (const { xs, ys, size } of source.batches(0, 0)) {
    const [l, c] = tf.tidy(() => {
      const logits = model.apply(xs, { training: false });
      return [crossEntropy(logits, ys, numClasses), correctCount(logits, ys)];
    });
    lossSum += (await l.data())[0] * size;
    correct += (await c.data())[0];
    count += size;
    tf.dispose([l, c, xs, ys]);
  }
  if (count === 0) throw new Error(`the ${what} gave no batches: no images to evaluate`);
  return { loss: lossSum / count, accuracy: correct / count, count };
}
