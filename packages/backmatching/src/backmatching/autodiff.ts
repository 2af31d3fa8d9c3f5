import * as tf from '@tensorflow/tfjs-core';

/** A function of several tensors, differentiated with respect to all of them. */
export type MultiFn = (xs: tf.Tensor[]) => tf.Tensor;

/** Vector-Jacobian product (J^T dy) of `f` at `xs`: one reverse pass. No tidy; call inside one. */
export function vjp(f: MultiFn, xs: readonly tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  return tf.grads((...args: tf.Tensor[]) => f(args))([...xs], dy);
}

/**
 * Jacobian-vector product (J v) of `f` at `xs` by the double-vjp trick: u -> <J^T u, v> is linear in u
 * and its gradient is J v. Needs the gradients of `f`'s gradient ops with respect to the cotangent
 * (available for the ops of `./ops` and the chain ops). No tidy; call inside one.
 */
export function jvp(f: MultiFn, xs: readonly tf.Tensor[], vs: readonly tf.Tensor[]): tf.Tensor {
  const y = f([...xs]);
  const u0 = tf.zerosLike(y);
  return tf.grad((u: tf.Tensor) => {
    const back = vjp(f, xs, u);
    let s: tf.Tensor = tf.sum(tf.mul(back[0], vs[0]));
    for (let i = 1; i < back.length; i++) s = tf.add(s, tf.sum(tf.mul(back[i], vs[i])));
    return s;
  })(u0);
}

/**
 * Hessian-vector product of a scalar function by grad of grad: d/dx <grad f(x), v> = H v.
 * Works where tfjs has second derivatives for every op on the path (see `./ops`). No tidy.
 */
export function hvp(
  f: (xs: tf.Tensor[]) => tf.Scalar,
  xs: readonly tf.Tensor[],
  vs: readonly tf.Tensor[],
): tf.Tensor[] {
  return tf.grads((...args: tf.Tensor[]) => {
    const g = tf.grads((...inner: tf.Tensor[]) => f(inner))(args);
    let s: tf.Tensor = tf.sum(tf.mul(g[0], vs[0]));
    for (let i = 1; i < g.length; i++) s = tf.add(s, tf.sum(tf.mul(g[i], vs[i])));
    return s;
  })([...xs]);
}

/** Flattens tensors into one Float64Array (in order, each in row-major order). */
export function flatten64(ts: readonly tf.Tensor[]): Float64Array {
  const n = ts.reduce((s, t) => s + t.size, 0);
  const out = new Float64Array(n);
  let o = 0;
  for (const t of ts) {
    out.set(t.dataSync(), o);
    o += t.size;
  }
  return out;
}

/** Splits a flat vector into float32 tensors of the given shapes. */
export function unflatten(v: ArrayLike<number>, shapes: readonly (readonly number[])[]): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  let o = 0;
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const part = new Float32Array(n);
    for (let i = 0; i < n; i++) part[i] = v[o + i];
    out.push(tf.tensor(part, [...shape], 'float32'));
    o += n;
  }
  if (o !== v.length) throw new Error(`vector of length ${v.length} for shapes of total size ${o}`);
  return out;
}
