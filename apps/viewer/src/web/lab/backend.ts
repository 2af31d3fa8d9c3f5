import {
  type BackendLoader,
  type BackendPreference,
  type InitBackendResult,
  initBackend,
} from '@bmp/backends';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/**
 * The browser's backends, loaded on demand (each is its own chunk). wasm is told where Vite put its
 * .wasm files; the Node-only backends are never asked for in a browser.
 */
export const browserLoader: BackendLoader = async (name) => {
  switch (name) {
    case 'webgpu':
      if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
      return import('@tensorflow/tfjs-backend-webgpu');
    case 'webgl':
      return import('@tensorflow/tfjs-backend-webgl');
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths({
        'tfjs-backend-wasm.wasm': wasmUrl,
        'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
        'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
      });
      return wasm;
    }
    case 'cpu':
      return import('@tensorflow/tfjs-backend-cpu');
    default:
      throw new Error(`${name} is a Node.js backend, not available in a browser`);
  }
};

/** @bmp/backends' choice in the browser order webgpu > webgl > wasm > cpu, or the one asked for. */
export function chooseBackend(prefer: BackendPreference): Promise<InitBackendResult> {
  return initBackend({ prefer, environment: 'browser', loader: browserLoader, trainingKernels: false });
}
