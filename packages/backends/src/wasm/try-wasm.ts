import * as tf from '@tensorflow/tfjs-core';
import type { BackendLoader, Environment } from '../backend-names';
import { registerNativeKernels, type TrainingKernel } from '../training-kernels';
import { tryBackend } from '../try-backend';
import { loadNative, type NativeLoader } from './native-load';
import { nodeCoreCount, prepareNodeWasmThreads, WASM_MAX_THREADS } from './node-threads';

/** The native convolution kernels in use (wasm in Node with @bmp/backends-native). */
export interface NativeInfo {
  /** Instruction-set variant loaded (avx512, avx2, baseline) and its float lanes. */
  isa: string;
  lanes: number;
  threads: number;
  /** Variants installed for this platform, lowest first (absent with older @bmp/backends-native). */
  available?: string[];
  /** Why this variant: 'the best this CPU runs' or 'BMP_NATIVE_ISA=avx2'. */
  isaChoice?: string;
}

/** The options of `initBackend` that concern the native kernels. */
export interface NativeOptions {
  native?: boolean;
  trainingKernels?: boolean;
  nativeThreads?: number;
  nativeLoader?: NativeLoader;
}

/** Registers @bmp/backends-native's convolutions on wasm when asked for and available. */
export async function setUpNative(
  options: NativeOptions,
  trainingKernels: TrainingKernel[],
): Promise<{ native?: NativeInfo; nativeNote?: string }> {
  if (options.native === false) return { nativeNote: 'native kernels off (native: false)' };
  if (options.trainingKernels === false) return { nativeNote: 'native kernels off (trainingKernels: false)' };
  const { kernels, reason, choice } = await loadNative(options.nativeLoader);
  if (kernels == null) return { nativeNote: reason };
  const threads = options.nativeThreads ?? (await nodeCoreCount());
  for (const k of registerNativeKernels(kernels, { threads })) {
    if (!trainingKernels.includes(k)) trainingKernels.push(k);
  }
  const { isa, lanes } = kernels.info();
  const chosen = choice != null ? { available: [...choice.available], isaChoice: choice.why } : {};
  return { native: { isa, lanes, threads, ...chosen } };
}

type WasmModule = { setThreadsCount?: (n: number) => void; default?: WasmModule };

/** XNNPACK threads of the initialised wasm backend. */
export function wasmThreads(): number | undefined {
  const backend = tf.findBackend('wasm') as { wasm?: { tfjs?: { getThreadsCount?: () => number } } } | null;
  const n = backend?.wasm?.tfjs?.getThreadsCount?.();
  return typeof n === 'number' && n > 0 ? n : undefined;
}

/**
 * Initialises wasm with `threads` XNNPACK threads (default 1, at most 4); when the threaded build fails to
 * start in Node, falls back to the single-threaded one and says why in `threadsNote`.
 */
export async function tryWasm(
  loader: BackendLoader,
  environment: Environment,
  threads: number | undefined,
): Promise<{ error: string | null; threadsNote?: string }> {
  if (tf.findBackend('wasm') != null) {
    // Already initialised in this process: its thread count is fixed.
    const error = await tryBackend('wasm', loader);
    const have = wasmThreads();
    const threadsNote =
      threads != null && have != null && have !== threads
        ? `the wasm backend was already initialised with ${have} thread(s); threads: ${threads} applies only to the first initialisation`
        : undefined;
    return { error, threadsNote };
  }
  const setter = (module: unknown) => {
    const m = module as WasmModule | undefined;
    return m?.setThreadsCount ?? m?.default?.setThreadsCount;
  };
  if (environment !== 'node') {
    // Browsers: tfjs detects threads itself; pass the count on if one was asked for.
    const error = await tryBackend('wasm', loader, async (module) => {
      if (threads != null) setter(module)?.(threads);
      return undefined;
    });
    return { error };
  }
  // Default 1, a measured default (what was measured and how to re-measure it: bench/README.md,
  // "Measured defaults"); `threads: nodeCoreCount()` asks for every core.
  const requested = Math.min(threads ?? 1, WASM_MAX_THREADS);
  let threadsNote: string | undefined;
  if (threads != null && threads > WASM_MAX_THREADS) {
    threadsNote = `tfjs-backend-wasm 4.22 runs at most ${WASM_MAX_THREADS} threads`;
  }
  if (requested > 1) {
    const error = await tryBackend('wasm', loader, async (module) => {
      const set = setter(module);
      if (set == null) throw new Error('the module exports no setThreadsCount');
      return prepareNodeWasmThreads(requested, set);
    });
    if (error == null) {
      const have = wasmThreads();
      if (have != null && have !== requested) {
        threadsNote = `asked for ${requested} threads, tfjs-backend-wasm started ${have}`;
      }
      return { error, ...(threadsNote != null ? { threadsNote } : {}) };
    }
    threadsNote = `the threaded wasm build failed to start in Node (${error}); running single-threaded`;
  }
  const error = await tryBackend('wasm', loader, async (module) => {
    // The flag exists once the module is loaded; the single-threaded build needs no workers.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setter(module)?.(1);
    return undefined;
  });
  return { error, ...(threadsNote != null ? { threadsNote } : {}) };
}
