import { tf } from './tf.mjs';

/**
 * One timed training step (forward + backward + optimizer), shared by the benchmarks: the clock stops
 * after a read of `probe` (a small variable) forces the step to finish. Losses are collected in `losses`.
 *
 * `read: 'sync'` (default) reads with `dataSync()` and returns a function giving the step's milliseconds;
 * `read: 'async'` reads with `await data()`, steps with `applyGradientsAsync` (the same step, its finiteness
 * check downloaded asynchronously) and returns an async function. GPU backends need the latter
 * in Node: webgpu's `dataSync()` throws there (it wants an OffscreenCanvas), only `data()` works.
 */
export function timedStep({ loss, variables, optimizer, probe, losses, read = 'sync' }) {
  if (read === 'async') {
    return async () => {
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(loss, variables);
      await optimizer.applyGradientsAsync(grads);
      await probe.data();
      const ms = performance.now() - t0;
      losses.push((await value.data())[0]);
      tf.dispose([value, ...Object.values(grads)]);
      return ms;
    };
  }
  return () => {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(loss, variables);
    optimizer.applyGradients(grads);
    probe.dataSync();
    const ms = performance.now() - t0;
    losses.push(value.dataSync()[0]);
    tf.dispose([value, ...Object.values(grads)]);
    return ms;
  };
}

/** How a backend must be read: 'async' for the GPU backends (webgpu, webgl), 'sync' otherwise. */
export function readModeOf(backend) {
  return backend === 'webgpu' || backend === 'webgl' ? 'async' : 'sync';
}
