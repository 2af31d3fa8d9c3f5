import * as tf from '@tensorflow/tfjs-core';
import {
  registerCpuTrainingKernels,
  registerNativeKernels,
  registerWasmTrainingKernels,
  type TrainingKernel,
} from './training-kernels';
import { loadNative, type NativeLoader } from './wasm/native-load';
import { nodeCoreCount, prepareNodeWasmThreads, WASM_MAX_THREADS } from './wasm/node-threads';

/** The backends `initBackend` knows, by the package that provides them. */
export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu' | 'webgpu' | 'webgl';
export type BackendPreference = BackendName | 'auto';
export type Environment = 'node' | 'browser';

/** The order `prefer: 'auto'` tries, per environment. */
export const AUTO_ORDER: Readonly<Record<Environment, readonly BackendName[]>> = {
  node: ['node-gpu', 'node', 'wasm', 'cpu'],
  browser: ['webgpu', 'webgl', 'wasm', 'cpu'],
};

/** The npm package that provides each backend. */
export const BACKEND_PACKAGES: Readonly<Record<BackendName, string>> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  webgl: '@tensorflow/tfjs-backend-webgl',
};

/** The name each backend registers itself under in tfjs-core (tfjs-node and -node-gpu: 'tensorflow'). */
export const TFJS_BACKEND_NAMES: Readonly<Record<BackendName, string>> = {
  'node-gpu': 'tensorflow',
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
  webgpu: 'webgpu',
  webgl: 'webgl',
};

/**
 * Imports the package of backend `name` (which registers it with tfjs-core). The default uses dynamic
 * `import()`; tests inject their own to simulate installed, missing or broken optional backends.
 */
export type BackendLoader = (name: BackendName) => Promise<unknown>;

export const defaultLoader: BackendLoader = async (name) => {
  // One literal import per package, so that bundlers see them (and can leave the optional ones out).
  switch (name) {
    case 'node-gpu':
      return import('@tensorflow/tfjs-node-gpu');
    case 'node':
      return import('@tensorflow/tfjs-node');
    case 'wasm':
      return import('@tensorflow/tfjs-backend-wasm');
    case 'cpu':
      return import('@tensorflow/tfjs-backend-cpu');
    case 'webgpu':
      return import('@tensorflow/tfjs-backend-webgpu');
    case 'webgl':
      return import('@tensorflow/tfjs-backend-webgl');
  }
};

export interface InitBackendOptions {
  /** Default 'auto': the first backend of `AUTO_ORDER[environment]` that loads and initialises. */
  prefer?: BackendPreference;
  /** Default: detected ('node' when running under Node.js without a DOM `window`). */
  environment?: Environment;
  /** Default `defaultLoader` (dynamic import). */
  loader?: BackendLoader;
  /**
   * Register the @bmp/backends training kernels on the chosen backend (wasm: required to train conv nets;
   * cpu: a faster Conv2DBackpropFilter). Default true.
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
}

/** The native kernels in use (wasm in Node with @bmp/backends-native). */
export interface NativeInfo {
  /** Instruction set the addon was compiled for (avx512, avx2, neon, ...) and its float lanes. */
  isa: string;
  lanes: number;
  threads: number;
}

export interface BackendAttempt {
  name: BackendName;
  /** Why it was not chosen (absent for the chosen one). */
  error?: string;
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
}

export function detectEnvironment(): Environment {
  const g = globalThis as { process?: { versions?: { node?: string } }; window?: unknown };
  return g.process?.versions?.node != null && typeof g.window === 'undefined' ? 'node' : 'browser';
}

/** Install instructions for backend `name`, for error messages. */
export function installHint(name: BackendName): string {
  const pkg = BACKEND_PACKAGES[name];
  switch (name) {
    case 'node-gpu':
      return (
        `install it with \`npm install ${pkg}@4.22.0\` (it downloads libtensorflow 2.9.1 with GPU support at ` +
        'install time, so the install needs network access to storage.googleapis.com and must be allowed to ' +
        'run install scripts). It needs Linux x86_64, an NVIDIA GPU and driver >= 450.x, CUDA Toolkit 11.2 ' +
        "and cuDNN 8.1 (TensorFlow 2.9's tested configuration) on the library path (LD_LIBRARY_PATH)"
      );
    case 'node':
      return (
        `install it with \`npm install ${pkg}@4.22.0\` (it downloads libtensorflow 2.9.1 at install time, so ` +
        'the install needs network access to storage.googleapis.com and must be allowed to run install ' +
        'scripts; Linux x86_64, macOS or Windows)'
      );
    case 'webgpu':
      return `install it with \`npm install ${pkg}@4.22.0\`; it needs a browser with WebGPU (navigator.gpu)`;
    case 'webgl':
      return `install it with \`npm install ${pkg}@4.22.0\`; it needs a browser with WebGL`;
    default:
      return `install it with \`npm install ${pkg}@4.22.0\` (a dependency of @bmp/backends, so normally present)`;
  }
}

function isModuleNotFound(error: unknown, pkg: string): boolean {
  const e = error as { code?: string; message?: string } | null;
  const message = String(e?.message ?? error);
  const notFound =
    e?.code === 'ERR_MODULE_NOT_FOUND' ||
    e?.code === 'MODULE_NOT_FOUND' ||
    /Cannot find (module|package)|Failed to resolve module|Failed to fetch dynamically imported module|Could not resolve/i.test(
      message,
    );
  return notFound && message.includes(pkg);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An `Error` with the attempts recorded, thrown when no backend could be used. */
export class BackendUnavailableError extends Error {
  constructor(
    message: string,
    readonly tried: BackendAttempt[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** Runs between loading a backend's package and initialising it; returns a clean-up, run afterwards. */
type BeforeInit = (module: unknown) => Promise<(() => void) | undefined>;

async function tryBackend(
  name: BackendName,
  loader: BackendLoader,
  beforeInit?: BeforeInit,
): Promise<string | null> {
  const pkg = BACKEND_PACKAGES[name];
  const tfjsName = TFJS_BACKEND_NAMES[name];
  let module: unknown;
  try {
    module = await loader(name);
  } catch (error) {
    if (isModuleNotFound(error, pkg)) return `${pkg} is not installed: ${installHint(name)}`;
    return `${pkg} is installed but failed to load (${describe(error)}); ${installHint(name)}`;
  }
  if (tf.findBackendFactory(tfjsName) == null) {
    return `${pkg} loaded but registered no '${tfjsName}' backend with this copy of @tensorflow/tfjs-core (two copies of tfjs-core installed?)`;
  }
  let ok: boolean;
  let cleanUp: (() => void) | undefined;
  try {
    cleanUp = await beforeInit?.(module);
    ok = await tf.setBackend(tfjsName);
    await tf.ready();
  } catch (error) {
    return `${pkg} loaded but the '${tfjsName}' backend failed to initialise (${describe(error)})`;
  } finally {
    cleanUp?.();
  }
  if (!ok || tf.getBackend() !== tfjsName) {
    return `${pkg} loaded but the '${tfjsName}' backend failed to initialise (see the warning tfjs printed)`;
  }
  return null;
}

/**
 * Chooses and initialises a TensorFlow.js backend. `prefer: 'auto'` (the default) tries, in Node,
 * tfjs-node-gpu, tfjs-node, wasm, then cpu; in a browser webgpu, webgl, wasm, then cpu; the first that
 * loads and initialises wins. A backend named explicitly must work: otherwise this throws a
 * `BackendUnavailableError` that says how to install it. On wasm the training kernels are registered
 * (`registerWasmTrainingKernels`), on cpu the faster filter gradient (`registerCpuTrainingKernels`).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<InitBackendResult> {
  const prefer = options.prefer ?? 'auto';
  const environment = options.environment ?? detectEnvironment();
  const loader = options.loader ?? defaultLoader;
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
  const candidates = prefer === 'auto' ? AUTO_ORDER[environment] : [prefer];
  const tried: BackendAttempt[] = [];
  for (const name of candidates) {
    let threadsNote: string | undefined;
    let error: string | null;
    if (name === 'wasm') {
      ({ error, threadsNote } = await tryWasm(loader, environment, options.threads));
    } else {
      error = await tryBackend(name, loader);
    }
    if (error != null) {
      tried.push({ name, error });
      continue;
    }
    tried.push({ name });
    let trainingKernels: TrainingKernel[] = [];
    let native: NativeInfo | undefined;
    let nativeNote: string | undefined;
    if (options.trainingKernels ?? true) {
      if (name === 'wasm') trainingKernels = registerWasmTrainingKernels();
      if (name === 'cpu') trainingKernels = registerCpuTrainingKernels();
    }
    if (name === 'wasm' && environment === 'node') {
      ({ native, nativeNote } = await setUpNative(options, trainingKernels));
    }
    const skipped = tried.slice(0, -1).map((t) => t.name);
    const reason =
      (prefer === 'auto'
        ? `auto (${environment} order ${candidates.join(' > ')}): ${name} is the first that loaded` +
          (skipped.length > 0 ? `; not available: ${skipped.join(', ')}` : '')
        : `${name} was asked for`) +
      (native != null ? `; convolutions: native ${native.isa} kernels, ${native.threads} thread(s)` : '');
    const threads = name === 'wasm' ? wasmThreads() : name === 'cpu' ? 1 : undefined;
    return {
      backend: name,
      tfjsBackend: TFJS_BACKEND_NAMES[name],
      reason,
      tried,
      trainingKernels,
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

/** Registers @bmp/backends-native's convolutions on wasm when asked for and available. */
async function setUpNative(
  options: InitBackendOptions,
  trainingKernels: TrainingKernel[],
): Promise<{ native?: NativeInfo; nativeNote?: string }> {
  if (options.native === false) return { nativeNote: 'native kernels off (native: false)' };
  if (options.trainingKernels === false) return { nativeNote: 'native kernels off (trainingKernels: false)' };
  const { kernels, reason } = await loadNative(options.nativeLoader);
  if (kernels == null) return { nativeNote: reason };
  const threads = options.nativeThreads ?? (await nodeCoreCount());
  for (const k of registerNativeKernels(kernels, { threads })) {
    if (!trainingKernels.includes(k)) trainingKernels.push(k);
  }
  const { isa, lanes } = kernels.info();
  return { native: { isa, lanes, threads } };
}

type WasmModule = { setThreadsCount?: (n: number) => void; default?: WasmModule };

/** XNNPACK threads of the initialised wasm backend. */
function wasmThreads(): number | undefined {
  const backend = tf.findBackend('wasm') as { wasm?: { tfjs?: { getThreadsCount?: () => number } } } | null;
  const n = backend?.wasm?.tfjs?.getThreadsCount?.();
  return typeof n === 'number' && n > 0 ? n : undefined;
}

/**
 * Initialises wasm with `threads` XNNPACK threads (default 1, at most 4); when the threaded build fails to
 * start in Node, falls back to the single-threaded one and says why in `threadsNote`.
 */
async function tryWasm(
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
