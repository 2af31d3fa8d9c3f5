import type { Padding, Strides } from '@bmp/hessian';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Ops whose gradients are themselves differentiable in tfjs-core 4.22, so that Hessian-vector products
 * (grad of grad) and Jacobian-vector products (the double-vjp trick) work through them. tfjs lacks some
 * second derivatives (tfjs issue 3252): `Conv2DBackpropFilter` and `MaxPoolGrad` have no gradient, and
 * `logSoftmax` / `softmaxCrossEntropy` use `customGrad` with saved forward values, which silently gives a
 * wrong second derivative. The ops here give the same values as the tfjs ones.
 */

export function pair(s: Strides | undefined): [number, number] {
  if (s == null) return [1, 1];
  return typeof s === 'number' ? [s, s] : [s[0], s[1]];
}

/** Explicit [top, bottom, left, right] zero padding of a convolution (tfjs' 'same' rule for 'same'). */
export function convPadding(
  inH: number,
  inW: number,
  kh: number,
  kw: number,
  strides: [number, number],
  padding: Padding,
): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (typeof padding === 'number') return [padding, padding, padding, padding];
  const outH = Math.ceil(inH / strides[0]);
  const outW = Math.ceil(inW / strides[1]);
  const padH = Math.max(0, (outH - 1) * strides[0] + kh - inH);
  const padW = Math.max(0, (outW - 1) * strides[1] + kw - inW);
  const top = Math.floor(padH / 2);
  const left = Math.floor(padW / 2);
  return [top, padH - top, left, padW - left];
}

/**
 * 'valid' convolution as im2col + matMul: the kh * kw shifted (and, for strides > 1, subsampled by a
 * reshape) slices of x, concatenated along channels, times the kernel reshaped to `[kh * kw * cIn, cOut]`.
 * Same values as `tf.conv2d(x, w, strides, 'valid')`, but every op on the way (pad, slice, concat,
 * reshape, matMul) has a differentiable gradient, so grad of grad and the double-vjp trick work with
 * respect to both x and w (tfjs' `Conv2DBackpropFilter` has no gradient, and a `customGrad` would lose the
 * link to its inputs: its saved tensors are clones made off the tape).
 */
function conv2dValidTwice(x: tf.Tensor4D, w: tf.Tensor4D, s: [number, number]): tf.Tensor4D {
  const [n, h, wd, cIn] = x.shape;
  const [kh, kw, , cOut] = w.shape;
  const ho = Math.floor((h - kh) / s[0]) + 1;
  const wo = Math.floor((wd - kw) / s[1]) + 1;
  // room for every tap's slice of s * ho rows (s * wo columns)
  const extraH = Math.max(0, kh - 1 + s[0] * ho - h);
  const extraW = Math.max(0, kw - 1 + s[1] * wo - wd);
  const xp =
    extraH + extraW === 0
      ? x
      : tf.pad(x, [
          [0, 0],
          [0, extraH],
          [0, extraW],
          [0, 0],
        ]);
  const taps: tf.Tensor[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      if (s[0] === 1 && s[1] === 1) {
        taps.push(tf.slice(xp, [0, a, b, 0], [n, ho, wo, cIn]));
      } else {
        const t = tf.reshape(tf.slice(xp, [0, a, b, 0], [n, s[0] * ho, s[1] * wo, cIn]), [
          n,
          ho,
          s[0],
          wo,
          s[1],
          cIn,
        ]);
        taps.push(tf.reshape(tf.slice(t, [0, 0, 0, 0, 0, 0], [n, ho, 1, wo, 1, cIn]), [n, ho, wo, cIn]));
      }
    }
  }
  const patches = taps.length === 1 ? taps[0] : tf.concat(taps, 3); // [n, ho, wo, kh * kw * cIn]
  const y = tf.matMul(
    tf.reshape(patches, [n * ho * wo, kh * kw * cIn]),
    tf.reshape(w, [kh * kw * cIn, cOut]),
  );
  return tf.reshape(y, [n, ho, wo, cOut]);
}

/** 2-D convolution (NHWC, kernel `[kh, kw, cIn, cOut]`, no bias), twice differentiable (see above). */
export function conv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  strides?: Strides,
  padding: Padding = 'same',
): tf.Tensor4D {
  const s = pair(strides);
  const [, h, wd] = x.shape;
  const [kh, kw] = w.shape;
  const [top, bottom, left, right] = convPadding(h, wd, kh, kw, s, padding);
  const padded =
    top + bottom + left + right === 0
      ? x
      : tf.pad(x, [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ]);
  return conv2dValidTwice(padded, w, s);
}

/**
 * 2x2 max-pool with stride 2 ('valid', like `tf.maxPool(x, 2, 2, 'valid')`), written as a sum of the
 * window weighted by a one-hot mask of its first maximum. The mask is piecewise constant, so values and
 * first and second derivatives agree with max-pool almost everywhere, and tfjs can differentiate it twice.
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const ho = Math.floor(h / 2);
  const wo = Math.floor(w / 2);
  const cropped = ho * 2 === h && wo * 2 === w ? x : tf.slice(x, [0, 0, 0, 0], [n, ho * 2, wo * 2, c]);
  // [n, ho, 2, wo, 2, c] -> [n, ho, wo, c, 4]
  const windows = tf.reshape(tf.transpose(tf.reshape(cropped, [n, ho, 2, wo, 2, c]), [0, 1, 3, 5, 2, 4]), [
    n,
    ho,
    wo,
    c,
    4,
  ]);
  // oneHot's dtype argument is ignored by tfjs-backend-wasm 4.22 (it writes int32 bits into a float32
  // buffer), so build the int32 mask and cast it.
  const mask = tf.cast(tf.oneHot(tf.argMax(windows, 4), 4), 'float32');
  return tf.sum(tf.mul(windows, mask), 4) as tf.Tensor4D;
}

/** Batch normalisation without affine parameters over every axis but the last (training mode, biased variance). */
export function batchNorm(h: tf.Tensor, epsilon: number): tf.Tensor {
  const axes = h.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(h, axes);
  return tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, epsilon)));
}

/**
 * log-softmax over the last axis, twice differentiable in tfjs: `tf.logSoftmax` uses a customGrad (wrong
 * second derivative), and the gradients of `Exp`, `Sigmoid`, `Softmax` and `Max` use their saved outputs,
 * which tfjs does not link to the tape (their second derivatives come out wrong or missing). The log-sum-exp
 * is therefore folded with softplus (whose gradient uses its input): lse <- lse + softplus(x_k - lse).
 */
export function logSoftmax(logits: tf.Tensor): tf.Tensor {
  const axis = logits.rank - 1;
  const k = logits.shape[axis];
  const parts = tf.split(logits, k, axis);
  let lse = parts[0];
  for (let i = 1; i < k; i++) lse = tf.add(lse, tf.softplus(tf.sub(parts[i], lse)));
  return tf.sub(logits, lse);
}

/** Mean over the batch of the softmax cross-entropy -sum_k y_k log softmax(logits)_k (one-hot or soft labels). */
export function softmaxCrossEntropy(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(labels, logSoftmax(logits)), logits.rank - 1))) as tf.Scalar;
}

/** 1/(2m) ||targets - outputs||^2, m = batch size (the batch-mean convention of every back-matching loss). */
export function halfMeanSquaredError(targets: tf.Tensor, outputs: tf.Tensor): tf.Scalar {
  const m = outputs.shape[0];
  return tf.div(tf.sum(tf.square(tf.sub(targets, outputs))), 2 * m) as tf.Scalar;
}
