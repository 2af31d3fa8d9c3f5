// Registration of the training kernels (side effects on tfjs-core's kernel registry).

import type { NativeKernels } from '@bmp/backends-native';
import { hasKernel, registerKernel } from '@bmp/hessian/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { registerBatchNormGradients } from './gradients/batch-norm-gradient';
import { registerReductionGradients } from './gradients/reduction-gradients';
import { registerReluGradient } from './gradients/relu-gradient';
import { CONV2D_BACKPROP_FILTER, conv2DBackpropFilterViaConv2D } from './wasm/conv2d-backprop-filter';
import { conv2DBackpropInputViaConv2D } from './wasm/conv2d-backprop-input';
import { conv2DNumericPadding } from './wasm/conv2d-numeric-padding';
import { maxPoolGradOnHeap } from './wasm/max-pool-grad';
import {
  nativeBatchNormReluTrainingGrad,
  nativeBatchNormTraining,
  nativeBatchNormTrainingGrad,
} from './wasm/native-batch-norm';
import {
  type NativeThreads,
  nativeConv2D,
  nativeConv2DBackpropFilter,
  nativeConv2DBackpropInput,
} from './wasm/native-conv';
import { type BinaryKernel, nativeBinary, nativeReduce } from './wasm/native-elementwise';
import type { NativeKernelSet } from './wasm/native-load';
import { nativeMaxPool } from './wasm/native-max-pool';
import { nativeMomentumStep } from './wasm/native-momentum-step';
import { nativeRelu, nativeReluGrad } from './wasm/native-relu';
import { sharedCast, sharedIdentity } from './wasm/shared-identity';
import {
  webgpuBatchNormReluTrainingGrad,
  webgpuBatchNormTraining,
  webgpuBatchNormTrainingGrad,
} from './webgpu/batch-norm-kernels';
import { webgpuConv2DBackpropFilter } from './webgpu/conv2d-backprop-filter';

/**
 * 'native': @bmp/backends-native's C++ kernel (falling back to 'fast' for what it does not cover);
 * 'fast': the @bmp/backends kernel built from the backend's own; 'stock': the backend's own kernel.
 */
export type KernelMode = 'native' | 'fast' | 'stock';

/** The replaceable kernels, as `${backend}:${kernel}`. */
export type TrainingKernel =
  | 'wasm:Conv2D'
  | 'wasm:Conv2DBackpropFilter'
  | 'wasm:Conv2DBackpropInput'
  | 'wasm:MaxPoolGrad'
  | 'wasm:MaxPool'
  | 'wasm:Relu'
  | 'wasm:Identity'
  | 'wasm:Cast'
  | 'wasm:Sum'
  | 'wasm:Mean'
  | 'wasm:Add'
  | 'wasm:Sub'
  | 'wasm:Multiply'
  | 'wasm:RealDiv'
  | 'cpu:Conv2DBackpropFilter'
  | 'webgpu:Conv2DBackpropFilter'
  | 'webgpu:BmpBatchNormTraining'
  | 'webgpu:BmpBatchNormTrainingGrad'
  | 'webgpu:BmpBatchNormReluTraining'
  | 'webgpu:BmpBatchNormReluTrainingGrad';

interface Replacement {
  /** The kernel registered before ours (null: the backend had none). */
  stock: tf.KernelConfig | null;
  fast: tf.KernelFunc;
  /** The native kernel, once registerNativeKernels has added it. */
  native: tf.KernelFunc | null;
  mode: KernelMode;
}

function dispatch(entry: Replacement, args: Parameters<tf.KernelFunc>[0]) {
  if (entry.mode === 'native' && entry.native != null) return entry.native(args);
  if (entry.mode === 'stock' && entry.stock != null) return entry.stock.kernelFunc(args);
  return entry.fast(args);
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
  const entry: Replacement = { stock, fast: make(stock?.kernelFunc ?? null), native: null, mode: 'fast' };
  if (stock != null) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    setupFunc: stock?.setupFunc,
    disposeFunc: stock?.disposeFunc,
    kernelFunc: (args) => dispatch(entry, args),
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
 *   values are all negative),
 * - `Conv2D` with a numeric padding as explicit padding (stock: writes past its output when the filter or
 *   strides are not square, because tfjs-core and XNNPACK size the output differently),
 * - `Identity`, and `Cast` to the same dtype, sharing the input's data instead of copying it;
 * and the gradients of Sum and Mean with a backend-side onesLike (registerReductionGradients; tfjs-core
 * builds the ones in JavaScript). Needs `@tensorflow/tfjs-backend-wasm` imported (initBackend does both). Idempotent; returns the kernels
 * this call registered.
 */
export function registerWasmTrainingKernels(): TrainingKernel[] {
  if (!wasmLoaded()) {
    throw new Error(
      '@bmp/backends: registerWasmTrainingKernels() needs @tensorflow/tfjs-backend-wasm to be imported first ' +
        "(import '@tensorflow/tfjs-backend-wasm', or call initBackend({ prefer: 'wasm' }))",
    );
  }
  registerReductionGradients();
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
  if (replaceKernel('wasm:Conv2D', (stock) => conv2DNumericPadding(stock!), { requireStock: true })) {
    done.push('wasm:Conv2D');
  }
  if (replaceKernel('wasm:Identity', (stock) => sharedIdentity(stock!), { requireStock: true })) {
    done.push('wasm:Identity');
  }
  if (replaceKernel('wasm:Cast', (stock) => sharedCast(stock!), { requireStock: true })) {
    done.push('wasm:Cast');
  }
  return done;
}

const nativeThreads: NativeThreads = { threads: 1 };

/**
 * Puts @bmp/backends-native's C++ kernels (`kernels`, from its loadNativeKernels()) in front of the wasm
 * backend's Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput (with `threads` threads), Sum and Mean
 * over leading axes, Add, Sub, Multiply and RealDiv with a trailing-axes operand, MaxPool, MaxPoolGrad and Relu, all
 * computing on the wasm heap (the cases they do not cover go to the kernels registered before), and registers
 * the new kernels BmpBatchNormTraining / BmpBatchNormTrainingGrad (batch norm on batch statistics, with its
 * gradient; @bmp/models' batch norm in training mode runs them, and they and their gradients are
 * differentiable again), BmpBatchNormReluTraining / BmpBatchNormReluTrainingGrad (the same followed by ReLU),
 * BmpReluGrad (Relu's gradient in one pass: tfjs' Relu
 * gradient is replaced by one that runs it where the backend has it) and BmpSgdMomentumStep (@bmp/optimizer's
 * momentum update of one variable in one pass, same bits). Registers the wasm training kernels first if needed. Calling it again only changes the thread count. Returns the kernels
 * now in 'native' mode.
 */
export function registerNativeKernels(
  kernelSet: NativeKernelSet,
  options: { threads?: number } = {},
): TrainingKernel[] {
  const kernels = kernelSet as NativeKernels;
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`@bmp/backends: native threads must be an integer >= 1, got ${String(options.threads)}`);
  }
  registerWasmTrainingKernels();
  nativeThreads.threads = threads;
  const make: Partial<Record<TrainingKernel, (fallback: tf.KernelFunc) => tf.KernelFunc>> = {
    'wasm:Conv2D': (f) => nativeConv2D(kernels, nativeThreads, f),
    'wasm:Conv2DBackpropFilter': (f) => nativeConv2DBackpropFilter(kernels, nativeThreads, f),
    'wasm:Conv2DBackpropInput': (f) => nativeConv2DBackpropInput(kernels, nativeThreads, f),
    'wasm:Sum': (f) => nativeReduce(kernels, nativeThreads, 'Sum', f),
    'wasm:Mean': (f) => nativeReduce(kernels, nativeThreads, 'Mean', f),
    'wasm:MaxPoolGrad': (f) => maxPoolGradOnHeap(f, kernels, nativeThreads),
    'wasm:MaxPool': (f) => nativeMaxPool(kernels, nativeThreads, f),
    'wasm:Relu': (f) => nativeRelu(kernels, nativeThreads, f),
  };
  for (const op of ['Add', 'Sub', 'Multiply', 'RealDiv'] as BinaryKernel[]) {
    make[`wasm:${op}`] = (f) => nativeBinary(kernels, nativeThreads, op, f);
  }
  const done: TrainingKernel[] = [];
  for (const [key, build] of Object.entries(make) as [
    TrainingKernel,
    (f: tf.KernelFunc) => tf.KernelFunc,
  ][]) {
    // Kernels with no @bmp/backends version yet: 'fast' is the stock kernel.
    replaceKernel(key, (stock) => stock!, { requireStock: true });
    const entry = replaced.get(key)!;
    entry.native ??= build(entry.fast);
    entry.mode = 'native';
    done.push(key);
  }
  // Kernels wasm has no version of (the contract of each: BMP_KERNELS of @bmp/hessian/kernels): batch norm
  // in two passes each way (run by @bmp/models' batch norm in training mode), with gradients for every
  // kernel (the ...Grad ones too: second derivatives).
  if (!hasKernel('batchNormTraining', 'wasm')) {
    registerKernel('batchNormTraining', 'wasm', nativeBatchNormTraining(kernels, nativeThreads));
    registerKernel('batchNormTrainingGrad', 'wasm', nativeBatchNormTrainingGrad(kernels, nativeThreads));
    registerKernel('batchNormReluTraining', 'wasm', nativeBatchNormTraining(kernels, nativeThreads, true));
    registerKernel(
      'batchNormReluTrainingGrad',
      'wasm',
      nativeBatchNormReluTrainingGrad(kernels, nativeThreads),
    );
    registerBatchNormGradients();
  }
  if (!hasKernel('sgdMomentumStep', 'wasm')) {
    registerKernel('sgdMomentumStep', 'wasm', nativeMomentumStep(kernels, nativeThreads));
  }
  if (!hasKernel('reluGrad', 'wasm')) {
    registerKernel('reluGrad', 'wasm', nativeReluGrad(kernels, nativeThreads));
    registerReluGradient();
  }
  return done;
}

/** Threads of the native kernels (set by registerNativeKernels). */
export function nativeKernelThreads(): number {
  return nativeThreads.threads;
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
 * Registers on the webgpu backend the batch-norm kernels of @bmp/hessian/kernels as WGSL compute programs
 * (./webgpu/batch-norm-programs.ts): BmpBatchNormTraining and BmpBatchNormReluTraining (per-channel mean,
 * then the variance around it, rstd, and the normalised output: 4 launches instead of the composed ops'
 * transposes and reductions) and their gradients BmpBatchNormTrainingGrad and BmpBatchNormReluTrainingGrad
 * (per-channel sums of dy and dy * xhat, then dx: 2 launches), with the same gradient registrations as the
 * wasm kernels (differentiable again: second derivatives). @bmp/models' batch norm in training mode runs them
 * when they are registered. Also replaces webgpu's Conv2DBackpropFilter (one thread per filter element over
 * every position) by a register-blocked program with a split sum (./webgpu/conv2d-backprop-filter.ts; NHWC
 * float32, else the stock kernel; `setTrainingKernelMode('webgpu:Conv2DBackpropFilter', 'stock')` switches
 * back). Needs the webgpu backend registered (initBackend({ prefer: 'webgpu' }) calls
 * this); nothing of tfjs-backend-webgpu is imported here (the programs are plain objects run by the
 * backend's runWebGPUProgram). Idempotent; returns the kernels this call registered.
 */
export function registerWebgpuTrainingKernels(): TrainingKernel[] {
  if (tf.findBackendFactory('webgpu') == null) {
    throw new Error(
      "@bmp/backends: registerWebgpuTrainingKernels() needs the webgpu backend registered first (initBackend({ prefer: 'webgpu' }))",
    );
  }
  const done: TrainingKernel[] = [];
  // Only in front of tfjs-backend-webgpu's own kernel (a backend registered under that name by something
  // else may have none: then nothing is replaced).
  const stockFilterGrad = tf.getKernel(CONV2D_BACKPROP_FILTER, 'webgpu') != null;
  if (
    stockFilterGrad &&
    replaceKernel('webgpu:Conv2DBackpropFilter', (stock) => webgpuConv2DBackpropFilter(stock!), {
      requireStock: true,
    })
  ) {
    done.push('webgpu:Conv2DBackpropFilter');
  }
  if (hasKernel('batchNormTraining', 'webgpu')) return done;
  registerKernel('batchNormTraining', 'webgpu', webgpuBatchNormTraining(false));
  registerKernel('batchNormTrainingGrad', 'webgpu', webgpuBatchNormTrainingGrad);
  registerKernel('batchNormReluTraining', 'webgpu', webgpuBatchNormTraining(true));
  registerKernel('batchNormReluTrainingGrad', 'webgpu', webgpuBatchNormReluTrainingGrad);
  registerBatchNormGradients();
  return [
    ...done,
    'webgpu:BmpBatchNormTraining',
    'webgpu:BmpBatchNormTrainingGrad',
    'webgpu:BmpBatchNormReluTraining',
    'webgpu:BmpBatchNormReluTrainingGrad',
  ];
}

/**
 * Switches a registered kernel between the native one ('native', where registered), the @bmp/backends
 * version built from wasm's kernels ('fast') and the backend's own ('stock'), for comparisons. wasm's Conv2DBackpropFilter has no stock kernel in tfjs 4.22.
 */
export function setTrainingKernelMode(key: TrainingKernel, mode: KernelMode): void {
  const entry = replaced.get(key);
  if (entry == null)
    throw new Error(`@bmp/backends: ${key} is not registered (call register*TrainingKernels)`);
  if (mode !== 'native' && mode !== 'fast' && mode !== 'stock') {
    throw new Error(`unknown kernel mode '${String(mode)}'`);
  }
  if (mode === 'stock' && entry.stock == null) throw new Error(`@bmp/backends: ${key} has no stock kernel`);
  if (mode === 'native' && entry.native == null) {
    throw new Error(`@bmp/backends: ${key} has no native kernel (call registerNativeKernels)`);
  }
  entry.mode = mode;
}

/** The registered training kernels and their current modes. */
export function trainingKernelModes(): Partial<Record<TrainingKernel, KernelMode>> {
  return Object.fromEntries([...replaced].map(([key, e]) => [key, e.mode]));
}
