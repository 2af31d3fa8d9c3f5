import * as tf from '@tensorflow/tfjs-core';
import { type GpuAdapterInfo, readAdapterInfo } from './adapter';

/** The npm package with Dawn's Node bindings (prebuilt: Vulkan on Linux, Metal on macOS, D3D12 on Windows). */
export const DAWN_PACKAGE = 'webgpu';

// Minimal shapes of the WebGPU objects used here (no @webgpu/types dependency for users).
interface AdapterLike {
  info?: unknown;
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor: unknown): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: unknown): Promise<AdapterLike | null>;
}
/** What the `webgpu` package exports: `create(dawnFlags)` gives a `navigator.gpu`; `globals` the interfaces. */
export interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
/** Imports the `webgpu` package; tests inject their own to simulate a missing package or no adapter. */
export type DawnLoader = () => Promise<DawnModule>;

export const defaultDawnLoader: DawnLoader = async () => {
  const m = (await import('webgpu')) as DawnModule & { default?: DawnModule };
  return typeof m.create === 'function' ? m : (m.default as DawnModule);
};

/**
 * The WebGPU interface objects tfjs-backend-webgpu 4.22 reads from the global scope while it runs
 * (`GPUBufferUsage.STORAGE`, `instanceof GPUBuffer`, ...). A browser has them; Node does not, so they are
 * defined where absent. `navigator` is never left changed.
 */
export const WEBGPU_INTERFACE_GLOBALS = [
  'GPUBuffer',
  'GPUTexture',
  'GPUBufferUsage',
  'GPUMapMode',
  'GPUTextureUsage',
  'GPUShaderStage',
] as const;

// The limits tfjs-backend-webgpu's own factory asks for (the adapter's maxima), so that large layers fit.
const REQUIRED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;

/** The adapter of the 'webgpu' backend registered by this module, once registered. */
let registered: GpuAdapterInfo | undefined;

/** The adapter behind this process's Node 'webgpu' backend, if `prepareNodeWebgpu` registered it. */
export function nodeWebgpuAdapter(): GpuAdapterInfo | undefined {
  return registered;
}

export type NodeWebgpuPreparation =
  | { error: string }
  | { adapter: GpuAdapterInfo; register: (backendModule: unknown) => void };

export function dawnInstallHint(): string {
  return (
    `install Dawn's Node bindings with \`npm install ${DAWN_PACKAGE}@0.6\` beside ` +
    '`@tensorflow/tfjs-backend-webgpu@4.22.0`'
  );
}

export function vulkanHint(): string {
  return (
    "on Linux Dawn needs a Vulkan driver: the GPU vendor's (NVIDIA's driver ships one) or Mesa >= 24 " +
    '(on Debian 12: `apt-get install -t bookworm-backports mesa-vulkan-drivers`, which includes the llvmpipe ' +
    'software adapter), and the Vulkan loader (libvulkan1)'
  );
}

/**
 * Loads Dawn, asks it for a high-performance adapter and says what it is. `allowSoftware: false` (auto
 * selection) refuses a software adapter. On success, `register(tfjs-backend-webgpu module)` registers the
 * 'webgpu' backend on that adapter (to be followed by `tf.setBackend('webgpu')`).
 */
export async function prepareNodeWebgpu(
  dawnLoader: DawnLoader,
  allowSoftware: boolean,
): Promise<NodeWebgpuPreparation> {
  if (registered != null && tf.findBackendFactory('webgpu') != null) {
    if (registered.software && !allowSoftware) return { error: softwareRefusal(registered) };
    const adapter = registered;
    return { adapter, register: () => {} };
  }
  let dawn: DawnModule;
  try {
    dawn = await dawnLoader();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (
      /Cannot find (module|package) '?webgpu'?/i.test(message) ||
      (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
    ) {
      return { error: `${DAWN_PACKAGE} (Dawn) is not installed: ${dawnInstallHint()}` };
    }
    return { error: `${DAWN_PACKAGE} (Dawn) is installed but failed to load (${message}); ${vulkanHint()}` };
  }
  let gpu: GpuLike;
  let adapter: AdapterLike | null;
  try {
    gpu = dawn.create([]);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return {
      error: `Dawn failed to start (${error instanceof Error ? error.message : String(error)}); ${vulkanHint()}`,
    };
  }
  if (adapter == null) return { error: `Dawn found no WebGPU adapter; ${vulkanHint()}` };
  const info = readAdapterInfo(adapter.info as never, adapter.isFallbackAdapter);
  if (info.software && !allowSoftware) return { error: softwareRefusal(info) };
  const found = adapter;
  return {
    adapter: info,
    register: (backendModule) => {
      registerDawnBackend(backendModule, dawn, gpu, found);
      registered = info;
    },
  };
}

function softwareRefusal(info: GpuAdapterInfo): string {
  return (
    `the only WebGPU adapter is a software one (${info.description || info.device || info.vendor}), ` +
    "which emulates a GPU on the CPU; it is used only when asked for by name ('webgpu')"
  );
}

type WebGpuBackendClass = new (device: unknown, adapterInfo: unknown) => tf.KernelBackend;

function registerDawnBackend(
  backendModule: unknown,
  dawn: DawnModule,
  gpu: GpuLike,
  adapter: AdapterLike,
): void {
  const m = backendModule as {
    WebGPUBackend?: WebGpuBackendClass;
    default?: { WebGPUBackend?: WebGpuBackendClass };
  };
  const WebGPUBackend = m.WebGPUBackend ?? m.default?.WebGPUBackend;
  if (WebGPUBackend == null) throw new Error('@tensorflow/tfjs-backend-webgpu exports no WebGPUBackend');
  const scope = globalThis as Record<string, unknown>;
  for (const name of WEBGPU_INTERFACE_GLOBALS) {
    if (scope[name] == null && dawn.globals[name] != null) scope[name] = dawn.globals[name];
  }
  tf.registerBackend(
    'webgpu',
    async () => {
      const requiredLimits: Record<string, number> = {};
      for (const name of REQUIRED_LIMITS) requiredLimits[name] = adapter.limits[name] as number;
      const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
      const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
      // The backend's constructor checks `navigator.gpu`; it is there only while the constructor runs.
      return withNavigatorGpu(gpu, () => new WebGPUBackend(device, adapter.info));
    },
    3,
  );
}

function withNavigatorGpu<T>(gpu: GpuLike, make: () => T): T {
  const scope = globalThis as { navigator?: { gpu?: unknown } };
  const navigator = scope.navigator;
  if (navigator?.gpu != null) return make();
  if (navigator != null) {
    Object.defineProperty(navigator, 'gpu', { value: gpu, configurable: true });
    try {
      return make();
    } finally {
      delete navigator.gpu;
    }
  }
  Object.defineProperty(scope, 'navigator', { value: { gpu }, configurable: true, writable: true });
  try {
    return make();
  } finally {
    delete scope.navigator;
  }
}
