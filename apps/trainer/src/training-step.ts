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

export function trainStep(
  model: TrainableModel,
  opt: ScaleAmendedSGD | MomentumSGD,
  { xs, ys, size }: TensorBatch,
  numClasses: number,
): StepOutcome {
  const t0 = performance.now();
  let correctT: tf.Scalar | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.apply(xs, { training: true });
    correctT = tf.keep(correctCount(logits, ys));
    return crossEntropy(logits, ys, numClasses);
  }, [...model.trainableVariables]);
  const loss = value.dataSync()[0];
  const correct = (correctT as tf.Scalar | null)?.dataSync()[0] ?? 0;
  tf.dispose([value, correctT as tf.Scalar | null].filter((t) => t != null) as tf.Tensor[]);
  tf.dispose([xs, ys]);
  try {
    if (!Number.isFinite(loss)) return { ok: false, loss };
    opt.applyGradients(grads);
  } catch (e) {
    const detail = (e as Error).message;
    if (/nan|finite|infinit/i.test(detail)) return { ok: false, loss: Number.NaN, detail };
    throw e;
  } finally {
    tf.dispose(Object.values(grads));
  }
  return { ok: true, loss, correct, size, seconds: (performance.now() - t0) / 1000 };
}
