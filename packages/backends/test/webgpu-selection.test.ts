// WebGPU in Node: Dawn's adapter, the auto rules (never a software adapter), what the result reports, and
// no global `navigator` left behind. Fake Dawn modules stand in for a hardware GPU, a missing package and
// a machine without a Vulkan driver; the real one (llvmpipe on CI) checks the software path.
import { tf, WEBGPU_REQUIRED, webgpuOrSkip } from '@bmp/test-utils';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BackendLoader, type DawnLoader, defaultLoader, initBackend, readAdapterInfo } from '../src';

beforeAll(() => {
  tf.env().set('IS_TEST', true);
});

afterEach(async () => {
  await tf.setBackend('cpu');
});

/** A Dawn whose only adapter has `info`; `adapter: null` is a machine without a driver. */
function fakeDawn(info: Record<string, unknown> | null): DawnLoader {
  return async () => ({
    create: () => ({
      requestAdapter: async () =>
        info == null
          ? null
          : {
              info,
              features: new Set<string>(),
              limits: {},
              requestDevice: async () => ({}),
            },
    }),
    globals: { GPUBufferUsage: { STORAGE: 128 } },
  });
}

/** tfjs-backend-webgpu stand-in: its WebGPUBackend computes on the cpu (and checks navigator.gpu, as the real one). */
const fakeWebgpuPackage: BackendLoader = async (name) => {
  if (name !== 'webgpu') return defaultLoader(name);
  return {
    WebGPUBackend: class extends MathBackendCPU {
      constructor() {
        super();
        if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu == null) {
          throw new Error('WebGPU is not supported on this device');
        }
      }
    },
  };
};

const NVIDIA = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' };
const LLVMPIPE = {
  vendor: 'mesa',
  architecture: 'software',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)',
  isFallbackAdapter: true,
};

describe('adapter info', () => {
  it.each([
    [NVIDIA, false],
    [LLVMPIPE, true],
    [{ vendor: 'google', architecture: '', description: 'SwiftShader Device (Subzero)' }, true],
    [{ vendor: 'microsoft', architecture: '', description: 'Microsoft Basic Render Driver' }, true],
    [{ vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX' }, false],
  ])('%o is software: %s', (info, software) => {
    expect(readAdapterInfo(info).software).toBe(software);
  });

  it('the spec-older isFallbackAdapter on the adapter counts too', () => {
    expect(readAdapterInfo({ vendor: 'x' }, true).software).toBe(true);
  });
});

// Each test registers its own 'webgpu' backend: a fresh module instance of the library per file is not
// possible, so these run before the real-Dawn tests below (which register the real one).
describe('selection with a fake Dawn', () => {
  afterEach(() => {
    if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  });

  it('auto never picks a software adapter, and says so', async () => {
    const r = await initBackend({
      environment: 'node',
      loader: fakeWebgpuPackage,
      dawnLoader: fakeDawn(LLVMPIPE),
    });
    expect(r.backend).not.toBe('webgpu');
    expect(r.tried[1]).toEqual({
      name: 'webgpu',
      error: expect.stringMatching(
        /only WebGPU adapter is a software one \(llvmpipe.*used only when asked for by name/,
      ),
    });
  });

  it('no adapter (no Vulkan driver) and no Dawn: what to install', async () => {
    const none = await initBackend({
      prefer: 'webgpu',
      loader: fakeWebgpuPackage,
      dawnLoader: fakeDawn(null),
    }).catch((e) => e);
    expect(none.message).toMatch(
      /Dawn found no WebGPU adapter; on Linux Dawn needs a Vulkan driver.*bookworm-backports/,
    );
    const missing = await initBackend({
      prefer: 'webgpu',
      loader: fakeWebgpuPackage,
      dawnLoader: async () => {
        throw Object.assign(new Error("Cannot find package 'webgpu' imported from /x.js"), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
      },
    }).catch((e) => e);
    expect(missing.message).toMatch(
      /webgpu \(Dawn\) is not installed: install Dawn's Node bindings with `npm install webgpu@0\.6`/,
    );
    expect(tf.getBackend()).toBe('cpu');
  });

  it('auto picks a hardware adapter, reports it, and leaves no navigator behind', async () => {
    const hadNavigator = 'navigator' in globalThis;
    const r = await initBackend({
      environment: 'node',
      loader: fakeWebgpuPackage,
      dawnLoader: fakeDawn(NVIDIA),
    });
    expect(r.backend).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(r.adapter).toEqual({ ...NVIDIA, software: false });
    expect(r.device).toEqual({ kind: 'gpu', label: 'nvidia hopper (NVIDIA H100 80GB HBM3)' });
    expect(r.reason).toMatch(/^auto \(node order node-gpu > webgpu > .*\): webgpu is the first that loaded/);
    expect('navigator' in globalThis).toBe(hadNavigator);
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    // The interface constants tfjs-backend-webgpu reads at run time are defined.
    expect((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage).toBeDefined();
  });
});

describe('node-gpu without a GPU', () => {
  const noGpu: BackendLoader = async (name) => {
    if (name !== 'node-gpu') return defaultLoader(name);
    tf.registerBackend('tensorflow', () => Object.assign(new MathBackendCPU(), { isUsingGpuDevice: false }));
  };
  afterEach(() => {
    if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
  });

  it('auto does not label it GPU: it moves on and says why', async () => {
    const r = await initBackend({ environment: 'node', loader: noGpu, dawnLoader: fakeDawn(null) });
    expect(r.backend).toBe('wasm');
    expect(r.tried[0].error).toMatch(
      /tfjs-node-gpu loaded but libtensorflow sees no GPU .*compute on the CPU/,
    );
  });

  it('asked for by name, it is an error', async () => {
    const e = await initBackend({ prefer: 'node-gpu', loader: noGpu }).catch((x) => x);
    expect(e.message).toMatch(
      /the 'node-gpu' backend is not available: .*sees no GPU.*CUDA 11\.2 with cuDNN 8\.1/,
    );
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('the real Dawn', () => {
  it('webgpu by name runs on whatever adapter there is, software ones labelled as such', async () => {
    let result: Awaited<ReturnType<typeof initBackend>> | undefined;
    const ok = await webgpuOrSkip(async () => {
      result = await initBackend({ prefer: 'webgpu' });
    }, 'the real-Dawn selection test');
    if (!ok) return;
    const r = result as NonNullable<typeof result>;
    expect(tf.getBackend()).toBe('webgpu');
    expect(r.adapter).toBeDefined();
    expect(r.device.kind).toBe(r.adapter?.software ? 'software-gpu' : 'gpu');
    if (r.adapter?.software) expect(r.reason).toMatch(/software one: WebGPU is emulated on the CPU/);
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2, 3]), tf.tensor1d([10, 20, 30])));
    expect(Array.from(await sum.data())).toEqual([11, 22, 33]);
    sum.dispose();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
  });

  it.runIf(WEBGPU_REQUIRED)(
    'BMP_REQUIRE_WEBGPU=1: auto on this machine skips a software adapter',
    async () => {
      const r = await initBackend();
      const webgpu = r.tried.find((t) => t.name === 'webgpu');
      if (r.backend !== 'webgpu')
        expect(webgpu?.error).toMatch(/software one|no WebGPU adapter|no GPU device on this machine/);
    },
  );
});
