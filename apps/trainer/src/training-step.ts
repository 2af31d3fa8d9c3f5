/** One optimizer step on one batch: forward, loss, gradients, update; a non-finite loss stops it first. */
import type { MomentumSGD, ScaleAmendedSGD } from '@bmp/optimizer';
import type { TensorBatch } from './data';
import { correctCount, crossEntropy } from './evaluate';
import type { TrainableModel } from './model';
import { tf } from './tf';

export type StepOutcome =
  | { ok: true; loss: number; correct: number; size: number; seconds: number }
  /** The weights were not updated; `detail` is the optimizer's message when it refused the gradients. */
  | { ok: false; loss: number; detail?: string };

/**
 * Reads with `await data()` and steps with `applyGradientsAsync`: the same bits as the synchronous calls,
 * and the only way on webgpu in Node (no synchronous download there).
 */
export async function trainStep(
  model: TrainableModel,
  opt: ScaleAmendedSGD | MomentumSGD,
  { xs, ys, size }: TensorBatch,
  numClasses: number,
): Promise<StepOutcome> {
  const t0 = performance.now();
  let correctT: tf.Scalar | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.apply(xs, { training: true });
    correctT = tf.keep(correctCount(logits, ys));
    return crossEntropy(logits, ys, numClasses);
  }, [...model.trainableVariables]);
  const kept = correctT as tf.Scalar | null;
  const [lossValues, correctValues] = await Promise.all([value.data(), kept?.data()]);
  const loss = lossValues[0];
  const correct = correctValues?.[0] ?? 0;
  tf.dispose([value, kept].filter((t) => t != null) as tf.Tensor[]);
  tf.dispose([xs, ys]);
  try {
    if (!Number.isFinite(loss)) return { ok: false, loss };
    await opt.applyGradientsAsync(grads);
  } catch (e) {
    const detail = (e as Error).message;
    if (/nan|finite|infinit/i.test(detail)) return { ok: false, loss: Number.NaN, detail };
    throw e;
  } finally {
    tf.dispose(Object.values(grads));
  }
  return { ok: true, loss, correct, size, seconds: (performance.now() - t0) / 1000 };
}
