// Gradients of Sum and Mean that broadcast dy with a backend kernel instead of a JavaScript array.
//
// tfjs-core 4.22 computes both as mul(reshape(dy), ones(x.shape)) (Mean then divides by the reduced
// size), and `ones` fills a JavaScript typed array of x's full size and uploads it: in the trainer's main
// job (batch norm's moments on every conv layer) that was 8 % of the training time, plus the garbage
// it leaves. These use onesLike(x), a kernel that fills the ones where the backend keeps its data; the
// arithmetic is the same, so the gradients are bit for bit tfjs' own.
import * as tf from '@tensorflow/tfjs-core';

function onesFor(x: tf.Tensor): tf.Tensor {
  return x.dtype === 'float32' ? tf.onesLike(x) : tf.ones(x.shape, 'float32');
}

function expandedDy(dy: tf.Tensor, x: tf.Tensor, axis: unknown): tf.Tensor {
  const shape = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis as number | number[], x.shape)) shape[a] = 1;
  return tf.reshape(dy, shape);
}

const sumGradient: tf.GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const derX = tf.mul(expandedDy(dy as tf.Tensor, x!, attrs.axis), onesFor(x!));
    return { x: () => derX };
  },
};

const meanGradient: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x!.shape);
    const reduceSize = axes.reduce((n, a) => n * x!.shape[a]!, 1);
    return { x: () => tf.div(tf.mul(expandedDy(dy as tf.Tensor, x!, attrs.axis), onesFor(x!)), reduceSize) };
  },
};

let registered = false;

/** Registers the two gradients (process-wide, for every backend). Idempotent. */
export function registerReductionGradients(): void {
  if (registered) return;
  tf.registerGradient(sumGradient);
  tf.registerGradient(meanGradient);
  registered = true;
}
