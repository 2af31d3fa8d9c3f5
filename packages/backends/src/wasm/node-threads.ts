// Starts tfjs-backend-wasm 4.22's threaded SIMD build in Node.js (XNNPACK on a pthreadpool).
//
// tfjs-backend-wasm never uses threads in Node: its WASM_HAS_MULTITHREAD_SUPPORT flag is false there,
// and forcing the flag is not enough, for three reasons (read from dist/tf-backend-wasm.node.js and
// the threaded .wasm):
// 1. emscripten creates each pthread worker with `new Worker(blobURL)` (the worker script is handed
//    over as a Blob URL); Node's worker_threads.Worker accepts no blob: URLs.
// 2. The worker then `importScripts` the main script, also as a Blob, holding the *bundled* factory,
//    which refers to bundler-internal names (require$$0, commonjsGlobal) that do not exist in a worker.
// 3. `init_with_threads_count(n)` clamps n to emscripten_num_logical_cores() / 2 (in Node:
//    os.cpus().length / 2, so 1 with 2 logical cores) and to 4.
// So, for the time the backend initialises, this module puts a `Worker` on globalThis that starts the
// emscripten worker script (wasm-out/*.worker.js) with `eval` and replaces the Blob in its 'load'
// message by the path of the stand-alone factory (wasm-out/tfjs-backend-wasm-threaded-simd.js), and
// makes os.cpus() report 2n logical cores; both are restored afterwards. The workers are unref'ed so
// that idle pthreads never keep the process alive (they only ever run work the main thread waits on).
import * as tf from '@tensorflow/tfjs-core';

/** The most threads tfjs-backend-wasm 4.22 creates (its C++ clamps the count to 4). */
export const WASM_MAX_THREADS = 4;

type NodeRequire = (id: string) => unknown;
interface NodeModules {
  require: NodeRequire & { resolve(id: string): string };
  os: { cpus(): unknown[]; availableParallelism?: () => number };
  workerThreads: { Worker: new (code: string, options: { eval: boolean }) => NodeWorker };
}
interface NodeWorker {
  postMessage(message: unknown, transfer?: unknown): void;
  unref(): void;
}

// A computed specifier, so that browser bundlers do not try to resolve Node's built-ins.
const importNode = (name: string): Promise<Record<string, unknown>> =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ `node:${name}`);

async function nodeModules(): Promise<NodeModules> {
  const module = (await importNode('module')) as {
    createRequire(from: string): NodeModules['require'];
  };
  const os = (await importNode('os')) as { default?: NodeModules['os'] } & NodeModules['os'];
  const workerThreads = (await importNode('worker_threads')) as unknown as NodeModules['workerThreads'];
  // Resolve tfjs-backend-wasm the way `import('@tensorflow/tfjs-backend-wasm')` from here does.
  const base = typeof __filename === 'string' ? __filename : import.meta.url;
  return { require: module.createRequire(base), os: os.default ?? os, workerThreads };
}

declare const __filename: string | undefined;

/** Logical cores Node reports (availableParallelism where it exists). */
export async function nodeCoreCount(): Promise<number> {
  const { os } = await nodeModules();
  return os.availableParallelism?.() ?? os.cpus().length;
}

/**
 * Prepares the next initialisation of the wasm backend to run `threads` (>= 2) XNNPACK threads in
 * Node: sets WASM_HAS_MULTITHREAD_SUPPORT and the module's thread count, installs the worker shim and
 * the core count. Returns the function that undoes the temporary patches once the backend is up (or
 * failed); the flag stays set.
 */
export async function prepareNodeWasmThreads(
  threads: number,
  setThreadsCount: (n: number) => void,
): Promise<() => void> {
  const { require, os, workerThreads } = await nodeModules();
  const wasmOut = require
    .resolve('@tensorflow/tfjs-backend-wasm/package.json')
    .replace(/package\.json$/, 'wasm-out/');
  const factoryPath = `${wasmOut}tfjs-backend-wasm-threaded-simd.js`;
  const { wasmWorkerContents } = require(`${wasmOut}tfjs-backend-wasm-threaded-simd.worker.js`) as {
    wasmWorkerContents: string;
  };
  // The module text holds "\n" escapes inside string literals that the template literal turned into
  // newlines (tfjs escapes them the same way before making its Blob).
  const workerCode = wasmWorkerContents.replace(/\n/g, '\\n');
  const Base = workerThreads.Worker;
  class PthreadWorker extends (Base as unknown as new (
    code: string,
    options: { eval: boolean },
  ) => NodeWorker) {
    constructor() {
      super(workerCode, { eval: true });
      this.unref();
    }
    override postMessage(message: unknown, transfer?: unknown): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
      const patched =
        m?.cmd === 'load' && typeof m.urlOrBlob !== 'string' ? { ...m, urlOrBlob: factoryPath } : m;
      super.postMessage(patched, transfer);
    }
    // emscripten ref()s a worker while it runs a pthread; pthreadpool's threads run for ever.
    ref(): void {}
  }

  const g = globalThis as Record<string, unknown>;
  const workerDescriptor = Object.getOwnPropertyDescriptor(g, 'Worker');
  // emscripten assigns worker_threads.Worker to the global on start-up: keep ours in place.
  Object.defineProperty(g, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => {} });
  const cpus = os.cpus;
  const real = cpus.call(os);
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => real[i % Math.max(real.length, 1)]);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  return () => {
    os.cpus = cpus;
    if (workerDescriptor != null) Object.defineProperty(g, 'Worker', workerDescriptor);
    else delete g.Worker;
  };
}
