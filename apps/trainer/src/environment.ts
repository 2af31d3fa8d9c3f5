/** Backend selection (once per process) and what is recorded about the environment. */
import { createRequire } from 'node:module';
import os from 'node:os';
import { initBackend } from '@bmp/backends';
import type { BackendChoice } from './config';
import type { ComputeDevice } from './runlog';
import { tf } from './tf';

/** The backend a process computes with, as config.json records it. */
export interface BackendSetup {
  backend: string;
  reason: string;
  /** What computes: CPU, GPU or a software GPU adapter, with the adapter's description (webgpu). */
  device: ComputeDevice;
}

let current: Promise<BackendSetup> | null = null;
let currentChoice: BackendChoice | null = null;

/** Environment variable with the native kernels' thread count (set by `compare` for its child runs). */
export const NATIVE_THREADS_ENV = 'BMP_NATIVE_THREADS';

/** Threads of @bmp/backends-native's kernels from BMP_NATIVE_THREADS (undefined: @bmp/backends' default, every core). */
export function nativeThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[NATIVE_THREADS_ENV];
  if (raw == null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${NATIVE_THREADS_ENV} must be an integer >= 1, got '${raw}'`);
  }
  return n;
}

/**
 * Initialises the backend through @bmp/backends (which registers the fast wasm/cpu training kernels, and
 * on wasm in Node the native kernels of @bmp/backends-native when they are built). 'auto' tries
 * tfjs-node-gpu (when libtensorflow sees a GPU), webgpu (on a hardware adapter), tfjs-node, wasm, cpu.
 * Later calls with another choice switch backends.
 */
export async function setupBackend(choice: BackendChoice): Promise<BackendSetup> {
  if (current && currentChoice === choice) return current;
  currentChoice = choice;
  current = (async () => {
    const nativeThreads = nativeThreadsFromEnv();
    const r = await initBackend({ prefer: choice, ...(nativeThreads != null ? { nativeThreads } : {}) });
    const b = tf.findBackend('cpu') as { firstUse?: boolean } | null;
    if (b && 'firstUse' in b) b.firstUse = false; // the "use tfjs-node" banner
    const { native, ...rest } = r.device;
    const device: ComputeDevice = {
      ...rest,
      // The native kernels' variant (isa, available, why): config.json records it.
      ...(native != null ? { native: { ...native } } : {}),
      ...(r.adapter != null ? { adapter: { ...r.adapter } } : {}),
    };
    return { backend: r.backend, reason: r.reason, device };
  })();
  try {
    return await current;
  } catch (e) {
    current = null;
    currentChoice = null;
    throw e;
  }
}

export function environmentInfo(): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    tfjsCore: tf.version_core,
    trainer: TRAINER_VERSION,
  };
}

declare const __TRAINER_VERSION__: string | undefined;
export const TRAINER_VERSION: string =
  typeof __TRAINER_VERSION__ === 'string' ? __TRAINER_VERSION__ : '0.0.0-dev';

/** Versions of everything that can change a result (config.json `versions`). */
export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = {
    node: process.version,
    '@bmp/trainer': TRAINER_VERSION,
    '@tensorflow/tfjs-core': tf.version_core,
  };
  for (const name of [
    '@bmp/optimizer',
    '@bmp/hessian',
    '@bmp/models',
    '@bmp/datasets',
    '@bmp/backends',
    '@bmp/runlog',
    '@tensorflow/tfjs-backend-wasm',
  ]) {
    try {
      out[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      // not resolvable from here (e.g. a transitive dependency): left out
    }
  }
  return out;
}

/** What a backend set up by a library caller computes on, as far as its name tells. */
export function callerDevice(backend: string): ComputeDevice {
  const cpu = backend === 'cpu' || backend === 'wasm';
  return { kind: cpu ? 'cpu' : 'unknown', label: `${backend} (set up by the caller)` };
}
