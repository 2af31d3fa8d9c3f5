import * as tf from '@tensorflow/tfjs-core';
import {
  registerCpuTrainingKernels,
  registerWasmTrainingKernels,
  type TrainingKernel,
} from './training-kernels';

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

async function tryBackend(name: BackendName, loader: BackendLoader): Promise<string | null> {
  const pkg = BACKEND_PACKAGES[name];
  const tfjsName = TFJS_BACKEND_NAMES[name];
  try {
    await loader(name);
  } catch (error) {
    if (isModuleNotFound(error, pkg)) return `${pkg} is not installed: ${installHint(name)}`;
    return `${pkg} is installed but failed to load (${describe(error)}); ${installHint(name)}`;
  }
  if (tf.findBackendFactory(tfjsName) == null) {
    return `${pkg} loaded but registered no '${tfjsName}' backend with this copy of @tensorflow/tfjs-core (two copies of tfjs-core installed?)`;
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfjsName);
    await tf.ready();
  } catch (error) {
    return `${pkg} loaded but the '${tfjsName}' backend failed to initialise (${describe(error)})`;
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
  const candidates = prefer === 'auto' ? AUTO_ORDER[environment] : [prefer];
  const tried: BackendAttempt[] = [];
  for (const name of candidates) {
    const error = await tryBackend(name, loader);
    if (error != null) {
      tried.push({ name, error });
      continue;
    }
    tried.push({ name });
    let trainingKernels: TrainingKernel[] = [];
    if (options.trainingKernels ?? true) {
      if (name === 'wasm') trainingKernels = registerWasmTrainingKernels();
      if (name === 'cpu') trainingKernels = registerCpuTrainingKernels();
    }
    const skipped = tried.slice(0, -1).map((t) => t.name);
    const reason =
      prefer === 'auto'
        ? `auto (${environment} order ${candidates.join(' > ')}): ${name} is the first that loaded` +
          (skipped.length > 0 ? `; not available: ${skipped.join(', ')}` : '')
        : `${name} was asked for`;
    return { backend: name, tfjsBackend: TFJS_BACKEND_NAMES[name], reason, tried, trainingKernels };
  }
  const details = tried.map((t) => `- ${t.name}: ${t.error}`).join('\n');
  const message =
    prefer === 'auto'
      ? `@bmp/backends: no backend could be initialised (tried ${candidates.join(', ')}):\n${details}`
      : `@bmp/backends: the '${prefer}' backend is not available: ${tried[0]?.error}`;
  throw new BackendUnavailableError(message, tried);
}
