import * as tf from '@tensorflow/tfjs-core';
import {
  AUTO_ORDER,
  BACKEND_PACKAGES,
  type BackendLoader,
  type BackendName,
  type BackendPreference,
  defaultLoader,
  detectEnvironment,
  type Environment,
  TFJS_BACKEND_NAMES,
} from './backend-names';
import { nodeGpuRefusal } from './node-gpu';
import {
  registerCpuTrainingKernels,
  registerWasmTrainingKernels,
  registerWebgpuTrainingKernels,
  type TrainingKernel,
} from './training-kernels';
import { type BackendAttempt, BackendUnavailableError, tryBackend } from './try-backend';
import type { NativeLoader } from './wasm/native-load';
import { type NativeInfo, setUpNative, tryWasm, wasmThreads } from './wasm/try-wasm';
import { describeAdapter, type GpuAdapterInfo } from './webgpu/adapter';
import { type DawnLoader, defaultDawnLoader } from './webgpu/node-webgpu';
import { tryWebgpu } from './webgpu/try-webgpu';

export interface InitBackendOptions {
  /** Default 'auto': the first backend of `AUTO_ORDER[environment]` that loads and initialises. */
  prefer?: BackendPreference;
  /** Default: detected ('node' when running under Node.js without a DOM `window`). */
  environment?: Environment;
  /** Default `defaultLoader` (dynamic import). */
  loader?: BackendLoader;
  /**
   * Register the @bmp/backends training kernels on the chosen backend (wasm: required to train conv nets;
   * cpu: a faster Conv2DBackpropFilter; webgpu: batch norm and a faster Conv2DBackpropFilter as WGSL
   * programs). Default true.
   */
  trainingKernels?: boolean;
  /**
   * wasm only: XNNPACK threads (at most 4, tfjs' limit). In Node a count above 1 starts
   * tfjs-backend-wasm's threaded SIMD build (see wasm/node-threads.ts); the default, 1, keeps the
   * single-threaded build (a measured default: bench/README.md, "Measured defaults"). In a browser
   * the count goes to tfjs' `setThreadsCount` (tfjs decides whether threads are available). Has no
   * effect when the wasm backend was already initialised in this process.
   */
  threads?: number;
  /**
   * wasm in Node only: run convolutions and their gradients with @bmp/backends-native (C++ compiled for
   * this machine at install, on the wasm heap) when it is installed and built. Default true; when it is
   * missing, wasm's own kernels run and `nativeNote` says why.
   */
  native?: boolean;
  /** Threads of the native kernels. Default: every core (`nodeCoreCount()`). */
  nativeThreads?: number;
  /** Default: imports @bmp/backends-native; tests inject their own. */
  nativeLoader?: NativeLoader;
  /** webgpu in Node: imports Dawn's bindings (the `webgpu` package); tests inject their own. */
  dawnLoader?: DawnLoader;
}

export interface InitBackendResult {
  /** The backend chosen. */
  backend: BackendName;
  /** Its name in tfjs-core (`tf.getBackend()`). */
  tfjsBackend: string;
  /** Why it was chosen, in words. */
  reason: string;
  /** Every backend tried, in order, the chosen one last. */
  tried: BackendAttempt[];
  /** Training kernels registered by this call. */
  trainingKernels: TrainingKernel[];
  /**
   * Threads the chosen backend computes with, where known: wasm's XNNPACK thread count, 1 for cpu;
   * absent for the others (tfjs-node and the GPU backends manage their own).
   */
  threads?: number;
  /** Why wasm runs fewer threads than asked for (threaded build failed to start, already initialised). */
  threadsNote?: string;
  /** The native convolution kernels, when they run. */
  native?: NativeInfo;
  /** Why the native kernels do not run (wasm chosen in Node only). */
  nativeNote?: string;
  /** What computes: a CPU, a GPU, or a software adapter emulating one. */
  device: ComputeDevice;
  /** webgpu: the adapter (vendor, architecture, device, description, software or not). */
  adapter?: GpuAdapterInfo;
}

/** What a backend computes on, for logs and config.json. */
export interface ComputeDevice {
  /** 'software-gpu': a WebGPU software adapter (llvmpipe, SwiftShader) emulating a GPU on the CPU. */
  kind: 'cpu' | 'gpu' | 'software-gpu' | 'unknown';
  label: string;
  /** wasm with @bmp/backends-native: its variant (isa), lanes, threads and why (recorded in config.json). */
  native?: NativeInfo;
}

/**
 * Chooses and initialises a TensorFlow.js backend. `prefer: 'auto'` (the default) tries, in Node,
 * tfjs-node-gpu (only when libtensorflow sees a GPU), webgpu through Dawn (only on a hardware adapter),
 * tfjs-node, wasm, then cpu; in a browser webgpu, webgl, wasm, then cpu; the first that loads and
 * initialises wins. A backend named explicitly must work: otherwise this throws a
 * `BackendUnavailableError` that says how to install it. On wasm the training kernels are registered
 * (`registerWasmTrainingKernels`), on cpu the faster filter gradient (`registerCpuTrainingKernels`), on webgpu
 * the batch-norm kernels and filter gradient (`registerWebgpuTrainingKernels`).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<InitBackendResult> {
  const prefer = options.prefer ?? 'auto';
  const environment = options.environment ?? detectEnvironment();
  const loader = options.loader ?? defaultLoader;
  checkOptions(options, prefer);
  const candidates = prefer === 'auto' ? AUTO_ORDER[environment] : [prefer];
  const tried: BackendAttempt[] = [];
  for (const name of candidates) {
    const attempt = await attemptBackend(name, prefer === 'auto', environment, loader, options);
    if (attempt.error != null) {
      tried.push({ name, error: attempt.error });
      continue;
    }
    tried.push({ name });
    let trainingKernels: TrainingKernel[] = [];
    let native: NativeInfo | undefined;
    let nativeNote: string | undefined;
    if (options.trainingKernels ?? true) {
      if (name === 'wasm') trainingKernels = registerWasmTrainingKernels();
      if (name === 'cpu') trainingKernels = registerCpuTrainingKernels();
      if (name === 'webgpu') trainingKernels = registerWebgpuTrainingKernels();
    }
    if (name === 'wasm' && environment === 'node') {
      ({ native, nativeNote } = await setUpNative(options, trainingKernels));
    }
    const { adapter, threadsNote } = attempt;
    const skipped = tried.slice(0, -1).map((t) => t.name);
    const reason =
      (prefer === 'auto'
        ? `auto (${environment} order ${candidates.join(' > ')}): ${name} is the first that loaded` +
          (skipped.length > 0 ? `; not available: ${skipped.join(', ')}` : '')
        : `${name} was asked for`) +
      (native != null ? `; convolutions: native ${native.isa} kernels, ${native.threads} thread(s)` : '') +
      (adapter?.software ? '; the adapter is a software one: WebGPU is emulated on the CPU (slow)' : '');
    const threads = name === 'wasm' ? wasmThreads() : name === 'cpu' ? 1 : undefined;
    return {
      backend: name,
      tfjsBackend: TFJS_BACKEND_NAMES[name],
      reason,
      tried,
      trainingKernels,
      device: computeDevice(name, adapter, native),
      ...(adapter != null ? { adapter } : {}),
      ...(threads != null ? { threads } : {}),
      ...(threadsNote != null ? { threadsNote } : {}),
      ...(native != null ? { native } : {}),
      ...(nativeNote != null ? { nativeNote } : {}),
    };
  }
  const details = tried.map((t) => `- ${t.name}: ${t.error}`).join('\n');
  const message =
    prefer === 'auto'
      ? `@bmp/backends: no backend could be initialised (tried ${candidates.join(', ')}):\n${details}`
      : `@bmp/backends: the '${prefer}' backend is not available: ${tried[0]?.error}`;
  throw new BackendUnavailableError(message, tried);
}

function checkOptions(options: InitBackendOptions, prefer: BackendPreference): void {
  if (prefer !== 'auto' && !(prefer in BACKEND_PACKAGES)) {
    throw new Error(
      `@bmp/backends: unknown backend '${String(prefer)}'; known: auto, ${Object.keys(BACKEND_PACKAGES).join(', ')}`,
    );
  }
  for (const key of ['threads', 'nativeThreads'] as const) {
    const v = options[key];
    if (v != null && !(Number.isInteger(v) && v >= 1)) {
      throw new Error(`@bmp/backends: ${key} must be an integer >= 1, got ${String(v)}`);
    }
  }
}

interface Attempt {
  error: string | null;
  threadsNote?: string;
  adapter?: GpuAdapterInfo;
}

/** Loads and initialises one backend; `auto` applies the rules of automatic choice (GPU really there). */
async function attemptBackend(
  name: BackendName,
  auto: boolean,
  environment: Environment,
  loader: BackendLoader,
  options: InitBackendOptions,
): Promise<Attempt> {
  if (name === 'wasm') return tryWasm(loader, environment, options.threads);
  if (name === 'webgpu') {
    return tryWebgpu(loader, environment, options.dawnLoader ?? defaultDawnLoader, !auto);
  }
  const previous = (tf.engine() as { backendName?: string }).backendName;
  const error = await tryBackend(name, loader);
  if (error == null && name === 'node-gpu') {
    const refusal = nodeGpuRefusal();
    if (refusal != null) {
      // Leave the backend that was current before (the 'tensorflow' one stays registered for 'node').
      if (previous != null && previous !== 'tensorflow') await tf.setBackend(previous);
      return { error: refusal };
    }
  }
  return { error };
}

function computeDevice(name: BackendName, adapter?: GpuAdapterInfo, native?: NativeInfo): ComputeDevice {
  switch (name) {
    case 'node-gpu':
      return { kind: 'gpu', label: 'NVIDIA GPU (libtensorflow with CUDA)' };
    case 'node':
      return { kind: 'cpu', label: 'CPU (libtensorflow)' };
    case 'wasm':
      return {
        kind: 'cpu',
        label: `CPU (wasm${native != null ? `, native ${native.isa} kernels, ${native.threads} thread(s)` : ''})`,
        ...(native != null ? { native: { ...native } } : {}),
      };
    case 'cpu':
      return { kind: 'cpu', label: 'CPU (tfjs cpu backend)' };
    case 'webgpu':
      return adapter == null
        ? { kind: 'unknown', label: 'WebGPU adapter' }
        : { kind: adapter.software ? 'software-gpu' : 'gpu', label: describeAdapter(adapter) };
    case 'webgl':
      return { kind: 'unknown', label: 'WebGL' };
  }
}
