// Registration of the training kernels (side effects on tfjs-core's kernel registry).
import * as tf from '@tensorflow/tfjs-core';
import { CONV2D_BACKPROP_FILTER, conv2DBackpropFilterViaConv2D } from './wasm/conv2d-backprop-filter';
import { conv2DBackpropInputViaConv2D } from './wasm/conv2d-backprop-input';
import { maxPoolGradOnHeap } from './wasm/max-pool-grad';

/** 'fast': the @bmp/backends kernel; 'stock': the backend's own (for comparisons). */
export type KernelMode = 'fast' | 'stock';

/** The replaceable kernels, as `${backend}:${kernel}`. */
export type TrainingKernel =
  | 'wasm:Conv2DBackpropFilter'
  | 'wasm:Conv2DBackpropInput'
  | 'wasm:MaxPoolGrad'
  | 'cpu:Conv2DBackpropFilter';

interface Replacement {
  /** The kernel registered before ours (null: the backend had none). */
  stock: tf.KernelConfig | null;
  mode: KernelMode;
}

const replaced = new Map<TrainingKernel, Replacement>();

/**
 * Registers `fast` as `kernelName` on `backendName`, keeping the stock kernel (and its setup) for
 * `setTrainingKernelMode(key, 'stock')`. Idempotent: returns false when already registered.
 */
function replaceKernel(
  key: TrainingKernel,
  make: (stock: tf.KernelFunc | null) => tf.KernelFunc,
  options: { requireStock: boolean },
): boolean {
  if (replaced.has(key)) return false;
  const [backendName, kernelName] = key.split(':') as [string, string];
  const stock = tf.getKernel(kernelName, backendName) ?? null;
  if (stock == null && options.requireStock) {
    throw new Error(
      `@bmp/backends: the ${backendName} backend has no ${kernelName} kernel to replace; import ` +
        `@tensorflow/tfjs-backend-${backendName} first (initBackend does)`,
    );
  }
  const entry: Replacement = { stock, mode: 'fast' };
  const fast = make(stock?.kernelFunc ?? null);
  if (stock != null) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    setupFunc: stock?.setupFunc,
    disposeFunc: stock?.disposeFunc,
    kernelFunc: (args) => (entry.mode === 'stock' && stock != null ? stock.kernelFunc(args) : fast(args)),
  });
  replaced.set(key, entry);
  return true;
}

function wasmLoaded(): boolean {
  return tf.getKernel('Conv2D', 'wasm') != null;
}

/**
 * Registers on the wasm backend the kernels that training the project's conv nets needs and
 * tfjs-backend-wasm 4.22 lacks or runs slowly, each built from wasm's fast kernels:
 * - `Conv2DBackpropFilter` (missing in wasm) from Conv2D,
 * - `Conv2DBackpropInput` from Conv2D (stock: a plain loop),
 * - `MaxPoolGrad` as one JavaScript pass over the wasm heap (stock: slower, and wrong for windows whose
 *   values are all negative).
 * Needs `@tensorflow/tfjs-backend-wasm` imported (initBackend does both). Idempotent; returns the kernels
 * this call registered.
 */
export function registerWasmTrainingKernels(): TrainingKernel[] {
  if (!wasmLoaded()) {
    throw new Error(
      '@bmp/backends: registerWasmTrainingKernels() needs @tensorflow/tfjs-backend-wasm to be imported first ' +
        "(import '@tensorflow/tfjs-backend-wasm', or call initBackend({ prefer: 'wasm' }))",
    );
  }
  const done: TrainingKernel[] = [];
  if (tf.getKernel(CONV2D_BACKPROP_FILTER, 'wasm') == null || replaced.has('wasm:Conv2DBackpropFilter')) {
    if (
      replaceKernel('wasm:Conv2DBackpropFilter', () => conv2DBackpropFilterViaConv2D('wasm'), {
        requireStock: false,
      })
    ) {
      done.push('wasm:Conv2DBackpropFilter');
    }
  }
  if (
    replaceKernel('wasm:Conv2DBackpropInput', (stock) => conv2DBackpropInputViaConv2D('wasm', stock!), {
      requireStock: true,
    })
  ) {
    done.push('wasm:Conv2DBackpropInput');
  }
  if (replaceKernel('wasm:MaxPoolGrad', (stock) => maxPoolGradOnHeap(stock!), { requireStock: true })) {
    done.push('wasm:MaxPoolGrad');
  }
  return done;
}

/**
 * Optional: replaces the cpu backend's `Conv2DBackpropFilter` (element-wise TensorBuffer loops, measured
 * ~35x slower than its own Conv2D on paper VGG13) by the Conv2D-based construction. NCHW still goes to
 * the stock kernel. Needs `@tensorflow/tfjs-backend-cpu` imported. Idempotent; returns what it registered.
 */
export function registerCpuTrainingKernels(): TrainingKernel[] {
  const ok = replaceKernel(
    'cpu:Conv2DBackpropFilter',
    (stock) => {
      const viaConv2D = conv2DBackpropFilterViaConv2D('cpu');
      return (args) => {
        const format = args.attrs?.dataFormat;
        const nhwc = format == null || format === 'NHWC' || format === 'channelsLast';
        return nhwc ? viaConv2D(args) : stock!(args);
      };
    },
    { requireStock: true },
  );
  return ok ? ['cpu:Conv2DBackpropFilter'] : [];
}

/**
 * Switches a registered kernel between the @bmp/backends version ('fast', the default) and the backend's
 * own ('stock'), for comparisons. wasm's Conv2DBackpropFilter has no stock kernel in tfjs 4.22.
 */
export function setTrainingKernelMode(key: TrainingKernel, mode: KernelMode): void {
  const entry = replaced.get(key);
  if (entry == null)
    throw new Error(`@bmp/backends: ${key} is not registered (call register*TrainingKernels)`);
  if (mode !== 'fast' && mode !== 'stock') throw new Error(`unknown kernel mode '${String(mode)}'`);
  if (mode === 'stock' && entry.stock == null) throw new Error(`@bmp/backends: ${key} has no stock kernel`);
  entry.mode = mode;
}

/** The registered training kernels and their current modes. */
export function trainingKernelModes(): Partial<Record<TrainingKernel, KernelMode>> {
  return Object.fromEntries([...replaced].map(([key, e]) => [key, e.mode]));
}
