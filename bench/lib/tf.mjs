// One place that loads TensorFlow.js for the benchmarks, the way @bmp/optimizer sees it: the
// `@tensorflow/tfjs-core` CJS build (what Node resolves the bare specifier to), so that the optimizer
// and the benchmark share one engine.
//
// Gradients: tfjs-core registers none by itself, and `@tensorflow/tfjs-core/dist/register_all_gradients`
// cannot be loaded by plain Node (its ESM build uses extension-less imports, and createRequire of it
// fails with ERR_MODULE_NOT_FOUND on dist/gradients/Abs_grad). The CJS bundle of
// `@tensorflow/tfjs-layers` registers every gradient of tfjs-core on import, so it is loaded for that
// side effect only (it is much smaller than the `@tensorflow/tfjs` union package).
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { registerCpuTrainingKernels, registerWasmTrainingKernels } from '@bmp/backends';
import { trainingKernelModes } from '@bmp/backends/internals';
import * as tf from '@tensorflow/tfjs-core';

// The training kernels of @bmp/backends: wasm's missing Conv2DBackpropFilter and a fast
// Conv2DBackpropInput, and the cpu backend's faster Conv2DBackpropFilter (setTrainingKernelMode from
// @bmp/backends/internals switches each back to the stock kernel for comparisons).
registerWasmTrainingKernels();
registerCpuTrainingKernels();

export { tf };

export const BACKENDS = ['wasm', 'cpu'];

const require = createRequire(import.meta.url);

/** Installed version of a package (read from its package.json), or null. */
export function packageVersion(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return null;
  }
}

/** Switches the engine to `name` and waits until it is ready; throws if it cannot be used. */
export async function useBackend(name) {
  if (!BACKENDS.includes(name)) {
    throw new Error(`unknown backend '${name}'; known: ${BACKENDS.join(', ')}`);
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`could not initialise the ${name} backend`);
  if (name === 'cpu') {
    // The cpu backend prints a "looks like you are running TensorFlow.js in Node.js" banner on first
    // use; it is known and would only split the benchmark's output.
    const backend = tf.findBackend('cpu');
    if (backend != null && 'firstUse' in backend) backend.firstUse = false;
  }
  return await describeBackend(name);
}

/** What is worth recording about the current backend. */
export async function describeBackend(name) {
  const info = { backend: name };
  if (name === 'wasm') {
    info.wasmSimd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    info.wasmMultithread = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  }
  // 'fast': the @bmp/backends kernel; 'stock': the backend's own.
  info.trainingKernels = Object.fromEntries(
    Object.entries(trainingKernelModes()).filter(([key]) => key.startsWith(`${name}:`)),
  );
  return info;
}
