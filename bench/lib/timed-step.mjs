import { tf } from './tf.mjs';

/**
 * One timed training step (forward + backward + optimizer), shared by the benchmarks: the clock stops
 * after a read of `probe` (a small variable) forces the step to finish. Losses are collected in `losses`.
 */
export function timedStep({ loss, variables, optimizer, probe, losses }) {
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
