import { dawnInstallHint } from './webgpu/node-webgpu';

/** The backends `initBackend` knows, by the package that provides them. */
export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu' | 'webgpu' | 'webgl';
export type BackendPreference = BackendName | 'auto';
export type Environment = 'node' | 'browser';

/** The order `prefer: 'auto'` tries, per environment. */
export const AUTO_ORDER: Readonly<Record<Environment, readonly BackendName[]>> = {
  // webgpu in Node only on a hardware adapter (auto never picks a software one, see webgpu/try-webgpu.ts).
  node: ['node-gpu', 'webgpu', 'node', 'wasm', 'cpu'],
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
      return (
        `install it with \`npm install ${pkg}@4.22.0\`; it needs a browser with WebGPU (navigator.gpu) or, in ` +
        `Node, Dawn's bindings: ${dawnInstallHint()}`
      );
    case 'webgl':
      return `install it with \`npm install ${pkg}@4.22.0\`; it needs a browser with WebGL`;
    default:
      return `install it with \`npm install ${pkg}@4.22.0\` (a dependency of @bmp/backends, so normally present)`;
  }
}
