// Gradients of the batch-norm gradient kernels (BmpBatchNormTrainingGrad, BmpBatchNormReluTrainingGrad),
// written with differentiable tfjs ops: with them, the gradient of a model that runs the fused batch-norm
// kernels can be differentiated again (Hessian-vector products, back-matching), as with tfjs' own ops.
// (BmpReluGrad's gradient is in ./relu-gradient.ts.)
//
// With M the per-channel mean over all axes but the last (N values), S the per-channel sum, and
//   dx = r (dy - M(dy) - xh M(dy xh)) + dMean / N + xh s,   s = 2 dVariance / (r N) - dRstd r^2 / N,
// the gradients for an upstream gradient G of dx are (the first term is self-adjoint in dy):
//   d dy        = r (G - M(G) - xh M(G xh))
//   d xh        = G s - r (G M(dy xh) + dy M(G xh))
//   d r         = S(G (dy - M(dy) - xh M(dy xh))) - S(G xh) (2 dVariance / (N r^2) + 2 r dRstd / N)
//   d dMean     = S(G) / N,   d dVariance = 2 S(G xh) / (r N),   d dRstd = -S(G xh) r^2 / N.
// The ReLU version takes dy' = dy step(xh), xh = (x - mean) r: d dy = step(xh) d dy', d x = r d xh,
// d mean = -r S(d xh), and d r gains S(d xh (x - mean)); step is flat, so nothing else.
import { registerGradient } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';

interface GradInputs {
  G: tf.Tensor;
  dy: tf.Tensor;
  xh: tf.Tensor;
  r: tf.Tensor;
  dMean: tf.Tensor;
  dVariance: tf.Tensor;
  dRstd: tf.Tensor;
}

function reducedAxes(t: tf.Tensor): number[] {
  return t.shape.slice(0, -1).map((_, i) => i);
}

function count(t: tf.Tensor): number {
  return t.size / t.shape[t.rank - 1]!;
}

/** The gradients above of dx with respect to dy, xh, r and the three statistics gradients. */
const vjp = {
  dy: ({ G, xh, r }: GradInputs) => {
    const axes = reducedAxes(G);
    return tf.mul(r, tf.sub(tf.sub(G, tf.mean(G, axes)), tf.mul(xh, tf.mean(tf.mul(G, xh), axes))));
  },
  xh: ({ G, dy, xh, r, dVariance, dRstd }: GradInputs) => {
    const axes = reducedAxes(G);
    const n = count(G);
    const s = tf.sub(tf.div(tf.mul(dVariance, 2), tf.mul(r, n)), tf.div(tf.mul(dRstd, tf.square(r)), n));
    const cross = tf.add(tf.mul(G, tf.mean(tf.mul(dy, xh), axes)), tf.mul(dy, tf.mean(tf.mul(G, xh), axes)));
    return tf.sub(tf.mul(G, s), tf.mul(r, cross));
  },
  r: ({ G, dy, xh, r, dVariance, dRstd }: GradInputs) => {
    const axes = reducedAxes(G);
    const n = count(G);
    const a = tf.sub(tf.sub(dy, tf.mean(dy, axes)), tf.mul(xh, tf.mean(tf.mul(dy, xh), axes)));
    const ds = tf.add(
      tf.div(tf.mul(dVariance, 2), tf.mul(tf.square(r), n)),
      tf.div(tf.mul(dRstd, tf.mul(r, 2)), n),
    );
    return tf.sub(tf.sum(tf.mul(G, a), axes), tf.mul(tf.sum(tf.mul(G, xh), axes), ds));
  },
  dMean: ({ G }: GradInputs) => tf.div(tf.sum(G, reducedAxes(G)), count(G)),
  dVariance: ({ G, xh, r }: GradInputs) =>
    tf.div(tf.mul(tf.sum(tf.mul(G, xh), reducedAxes(G)), 2), tf.mul(r, count(G))),
  dRstd: ({ G, xh, r }: GradInputs) =>
    tf.neg(tf.div(tf.mul(tf.sum(tf.mul(G, xh), reducedAxes(G)), tf.square(r)), count(G))),
};

let registered = false;

/** Registers both gradients (process-wide, for every backend). Idempotent. */
export function registerBatchNormGradGradients(): void {
  if (registered) return;
  registerGradient('batchNormTrainingGrad', {
    inputsToSave: ['dy', 'xhat', 'rstd', 'dMean', 'dVariance', 'dRstd'],
    gradFunc: ([G], saved) => {
      const [dy, xh, r, dMean, dVariance, dRstd] = saved as tf.Tensor[];
      const at = { G, dy: dy!, xh: xh!, r: r!, dMean: dMean!, dVariance: dVariance!, dRstd: dRstd! };
      return {
        dy: () => vjp.dy(at),
        xhat: () => vjp.xh(at),
        rstd: () => vjp.r(at),
        dMean: () => vjp.dMean(at),
        dVariance: () => vjp.dVariance(at),
        dRstd: () => vjp.dRstd(at),
      };
    },
  });
  registerGradient('batchNormReluTrainingGrad', {
    inputsToSave: ['dy', 'x', 'mean', 'rstd', 'dMean', 'dVariance', 'dRstd'],
    gradFunc: ([G], saved) => {
      const [dy, x, mean, r, dMean, dVariance, dRstd] = saved as tf.Tensor[];
      // xh and the mask as the forward pass computed them (the mask is flat: no gradient through it).
      const centred = () => tf.sub(x!, mean!);
      const xh = () => tf.mul(centred(), r!);
      const mask = (t: tf.Tensor) => tf.cast(tf.step(t), 'float32');
      const at = () => {
        const h = xh();
        return {
          G,
          dy: tf.mul(dy!, mask(h)),
          xh: h,
          r: r!,
          dMean: dMean!,
          dVariance: dVariance!,
          dRstd: dRstd!,
        };
      };
      return {
        dy: () => tf.mul(vjp.dy(at()), mask(xh())),
        x: () => tf.mul(vjp.xh(at()), r!),
        mean: () => tf.neg(tf.mul(tf.sum(vjp.xh(at()), reducedAxes(G)), r!)),
        rstd: () => {
          const a = at();
          return tf.add(vjp.r(a), tf.sum(tf.mul(vjp.xh(a), centred()), reducedAxes(G)));
        },
        dMean: () => vjp.dMean(at()),
        dVariance: () => vjp.dVariance(at()),
        dRstd: () => vjp.dRstd(at()),
      };
    },
  });
  registered = true;
}
