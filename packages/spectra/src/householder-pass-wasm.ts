/**
 * The WebAssembly (128-bit SIMD) version of the inner pass of the Householder tridiagonalisation in
 * ./eigenvalues.ts: about twice the speed of the JavaScript loop, which V8 cannot vectorise. Source:
 * ./householder-pass.wat (827 bytes compiled). Regenerate the constant below after editing it with
 *   wat2wasm householder-pass.wat -o - | base64 -w0        (wabt 1.0.32; apt-get install wabt)
 * or with the `wabt` npm package (a devDependency): test/householder-wasm.test.ts compiles the .wat and
 * fails, printing the new constant, whenever it and this constant differ.
 * Where WebAssembly or its SIMD proposal is missing (Safari < 16.4), `householderPassKernel()` returns
 * null and the JavaScript pass is used.
 */
/** The compiled ./householder-pass.wat, base64 (exported for the test that keeps the two in step). */
export const WASM_BASE64 =
  'AGFzbQEAAAABCwFgB39/f39/f38AAwIBAAUDAQABBxECBm1lbW9yeQIABHBhc3MAAAqHBgGEBgMIfxd7AX8gAUEDdCEKAkADQCAHQQNqIAJODQEgACAHIApsaiELIAsgCmohDCAMIApqIQ0gDSAKaiEOIAdBA3QhCCADIAhqKwMA/RQhDyAFIAhqKwMA/RQhEyAGIAhqKwMA/RQhFyADIAhqKwMI/RQhECAFIAhqKwMI/RQhFCAGIAhqKwMI/RQhGCADIAhqKwMQ/RQhESAFIAhqKwMQ/RQhFSAGIAhqKwMQ/RQhGSADIAhqKwMY/RQhEiAFIAhqKwMY/RQhFiAGIAhqKwMY/RQhGv0MAAAAAAAAAAAAAAAAAAAAACEb/QwAAAAAAAAAAAAAAAAAAAAAIRz9DAAAAAAAAAAAAAAAAAAAAAAhHf0MAAAAAAAAAAAAAAAAAAAAACEeQQAhCQJAA0AgCSAITw0BIAYgCWr9AAQAISMgBSAJav0ABAAhJCADIAlq/QAEACElIAsgCWr9AAQAIBMgI/3yASAXICT98gH98AH98QEhHyALIAlqIB/9CwQAIBsgHyAl/fIB/fABIRsgDCAJav0ABAAgFCAj/fIBIBggJP3yAf3wAf3xASEgIAwgCWogIP0LBAAgHCAgICX98gH98AEhHCANIAlq/QAEACAVICP98gEgGSAk/fIB/fAB/fEBISEgDSAJaiAh/QsEACAdICEgJf3yAf3wASEdIA4gCWr9AAQAIBYgI/3yASAaICT98gH98AH98QEhIiAOIAlqICL9CwQAIB4gIiAl/fIB/fABIR4gBCAJaiEmICYgJv0ABAAgHyAP/fIBICAgEP3yAf3wASAhIBH98gEgIiAS/fIB/fAB/fAB/fAB/QsEACAJQRBqIQkMAAsLIAQgCEEAamohJiAmICYrAwAgG/0hACAb/SEBoKA5AwAgBCAIQQhqaiEmICYgJisDACAc/SEAIBz9IQGgoDkDACAEIAhBEGpqISYgJiAmKwMAIB39IQAgHf0hAaCgOQMAIAQgCEEYamohJiAmICYrAwAgHv0hACAe/SEBoKA5AwAgB0EEaiEHDAALCws=';

// The few WebAssembly APIs used, typed here so that the package needs neither the DOM lib nor Node's.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}

export interface HouseholderPassKernel {
  memory: WasmMemory;
  /** Byte offsets of a (n x n), u, p, up, qp in `memory`; n the row stride, l the active block size. */
  pass(a: number, n: number, l: number, u: number, p: number, up: number, qp: number): void;
}

let module: object | null | undefined;
let cached: HouseholderPassKernel | undefined;
/** Memory kept by the cached instance at most; larger problems get a throwaway instance. */
const KEEP_BYTES = 32 * 2 ** 20;

function compile(): object | null {
  if (module !== undefined) return module;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  try {
    const bytes = Uint8Array.from(atob(WASM_BASE64), (ch) => ch.charCodeAt(0));
    module = wasm?.validate(bytes) ? new wasm.Module(bytes) : null;
  } catch {
    module = null;
  }
  return module;
}

function instantiate(mod: object): HouseholderPassKernel {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly!;
  const exports = new wasm.Instance(mod, {}).exports as HouseholderPassKernel;
  return { memory: exports.memory, pass: exports.pass };
}
/**
 * A kernel whose memory holds at least `bytes`, or null without WebAssembly SIMD (or when the memory
 * cannot be had). Memory of WebAssembly instances never shrinks, so only up to 32 MB is kept between
 * calls.
 */
export function householderPassKernel(bytes: number): HouseholderPassKernel | null {
  const mod = compile();
  if (mod == null) return null;
  try {
    const pages = Math.ceil(bytes / 65536);
    if (bytes > KEEP_BYTES) {
      const k = instantiate(mod);
      k.memory.grow(Math.max(0, pages - k.memory.buffer.byteLength / 65536));
      return k;
    }
    cached ??= instantiate(mod);
    const have = cached.memory.buffer.byteLength / 65536;
    if (pages > have) cached.memory.grow(pages - have);
    return cached;
  } catch {
    return null;
  }
}
