// Loading the union package registers the cpu backend, every gradient and tfjs-layers; the libraries
// under test import only `@tensorflow/tfjs-core`, which resolves to the same module instance.
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

export { tf };

/** Selects the pure-JS cpu backend (deterministic, always available). */
export async function useCpuBackend(): Promise<void> {
  // IS_TEST silences tfjs' "install tfjs-node" banner in test output.
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

/**
 * Runs `fn` and throws if the number of live tensors afterwards differs from before.
 * Use it around training steps: a leak of one tensor per step is a bug.
 */
export async function expectNoLeak<T>(fn: () => T | Promise<T>, label = 'block'): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new Error(`${label} leaked tensors: ${before} before, ${after} after`);
  }
  return result;
}

export { randomArray, seededRandom } from './random';

/** Largest |a - b| / max(|b|, floor) over the elements. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  }
  return worst;
}
export { WEBGPU_REQUIRED, webgpuOrSkip } from './webgpu';
