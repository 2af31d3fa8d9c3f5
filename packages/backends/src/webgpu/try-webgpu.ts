import * as tf from '@tensorflow/tfjs-core';
import type { BackendLoader, Environment } from '../backend-names';
import { tryBackend } from '../try-backend';
import { type GpuAdapterInfo, readAdapterInfo } from './adapter';
import { mayHaveGpu } from './gpu-devices';
import { type DawnLoader, defaultDawnLoader, prepareNodeWebgpu } from './node-webgpu';

/**
 * Initialises tfjs-backend-webgpu. In a browser it registers itself on `navigator.gpu`; in Node it runs on
 * Dawn (the `webgpu` package), and `allowSoftware: false` (auto) refuses a software adapter before anything
 * is registered. On success, `adapter` says what computes.
 */
export async function tryWebgpu(
  loader: BackendLoader,
  environment: Environment,
  dawnLoader: DawnLoader,
  allowSoftware: boolean,
): Promise<{ error: string | null; adapter?: GpuAdapterInfo }> {
  if (environment !== 'node') {
    const error = await tryBackend('webgpu', loader);
    return error != null ? { error } : { error: null, adapter: currentAdapter() };
  }
  if (!allowSoftware && dawnLoader === defaultDawnLoader && !(await mayHaveGpu())) {
    return {
      error:
        'no GPU device on this machine (no /dev/dri/renderD*, /dev/nvidia*, /dev/dxg), so auto does not start ' +
        "Dawn; a software adapter is used only when asked for by name ('webgpu')",
    };
  }
  const prepared = await prepareNodeWebgpu(dawnLoader, allowSoftware);
  if ('error' in prepared) return { error: prepared.error };
  const error = await tryBackend('webgpu', loader, async (module) => {
    prepared.register(module);
    return undefined;
  });
  return error != null ? { error } : { error: null, adapter: prepared.adapter };
}

/** The adapter of the current webgpu backend as tfjs-backend-webgpu keeps it (vendor and architecture). */
function currentAdapter(): GpuAdapterInfo {
  const backend = tf.backend() as { adapterInfo?: { vendor?: string; architecture?: string } };
  return readAdapterInfo(backend.adapterInfo);
}
