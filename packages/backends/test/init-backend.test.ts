// Backend selection with an injected loader, so that nothing depends on tfjs-node, tfjs-node-gpu,
// webgpu or webgl being installed (they are not, here). Simulated backends register a cpu backend
// instance under the real backend name ('tensorflow', 'webgpu', 'webgl').
import { tf } from '@bmp/test-utils';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTO_ORDER,
  type BackendLoader,
  type BackendName,
  BackendUnavailableError,
  type DawnLoader,
  defaultLoader,
  detectEnvironment,
  initBackend,
  TFJS_BACKEND_NAMES,
} from '../src';

beforeAll(() => {
  tf.env().set('IS_TEST', true);
});

afterEach(async () => {
  for (const name of ['tensorflow', 'webgpu', 'webgl', 'broken']) {
    if (tf.findBackendFactory(name) != null) tf.removeBackend(name);
  }
  await tf.setBackend('cpu');
});

function notFound(pkg: string): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from /x/dist/index.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

type Behaviour = 'installed' | 'no-gpu' | 'missing' | 'load-fails' | 'init-fails' | 'registers-nothing';

/** Dawn's `webgpu` package absent. */
const noDawn: DawnLoader = async () => {
  throw notFound('webgpu');
};

/** A loader where each backend behaves as told; the real loader for wasm and cpu unless overridden. */
function fakeLoader(
  behaviour: Partial<Record<BackendName, Behaviour>>,
  calls: BackendName[] = [],
): BackendLoader {
  return async (name) => {
    calls.push(name);
    const b = behaviour[name] ?? (name === 'wasm' || name === 'cpu' ? 'real' : 'missing');
    const pkg = `@tensorflow/tfjs-${name === 'node' || name === 'node-gpu' ? name : `backend-${name}`}`;
    const tfjsName = TFJS_BACKEND_NAMES[name];
    switch (b) {
      case 'real':
        return defaultLoader(name);
      case 'missing':
        throw notFound(pkg);
      case 'load-fails':
        throw new Error('libcudnn.so.8: cannot open shared object file: No such file or directory');
      case 'init-fails':
        tf.registerBackend(tfjsName, () => {
          throw new Error('no adapter');
        });
        return;
      case 'registers-nothing':
        return;
      case 'installed':
        tf.registerBackend(tfjsName, () => Object.assign(new MathBackendCPU(), { isUsingGpuDevice: true }));
        return;
      case 'no-gpu':
        // tfjs-node-gpu whose libtensorflow found no CUDA device: it computes on the CPU.
        tf.registerBackend(tfjsName, () => Object.assign(new MathBackendCPU(), { isUsingGpuDevice: false }));
        return;
    }
  };
}

describe('auto order', () => {
  it('node: node-gpu, webgpu, node, wasm, cpu; browser: webgpu, webgl, wasm, cpu', () => {
    expect(AUTO_ORDER.node).toEqual(['node-gpu', 'webgpu', 'node', 'wasm', 'cpu']);
    expect(AUTO_ORDER.browser).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(detectEnvironment()).toBe('node');
  });

  it('node without the optional backends picks wasm and says why', async () => {
    const calls: BackendName[] = [];
    const r = await initBackend({ environment: 'node', loader: fakeLoader({}, calls), dawnLoader: noDawn });
    expect(r.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    // Dawn is missing, so tfjs-backend-webgpu is not even loaded.
    expect(calls).toEqual(['node-gpu', 'node', 'wasm']);
    expect(r.tried.map((t) => t.name)).toEqual(['node-gpu', 'webgpu', 'node', 'wasm']);
    expect(r.tried[1].error).toMatch(/webgpu \(Dawn\) is not installed: install Dawn's Node bindings/);
    expect(r.tried[0].error).toMatch(
      /@tensorflow\/tfjs-node-gpu is not installed: install it with `npm install/,
    );
    expect(r.tried[0].error).toMatch(/CUDA Toolkit 11\.2 and cuDNN 8\.1/);
    expect(r.tried[2].error).toMatch(/@tensorflow\/tfjs-node is not installed/);
    expect(r.tried[3].error).toBeUndefined();
    expect(r.reason).toMatch(
      /auto \(node order node-gpu > webgpu > node > wasm > cpu\): wasm .*not available: node-gpu, webgpu, node/,
    );
    expect(r.device).toEqual({
      kind: 'cpu',
      label: expect.stringMatching(/^CPU \(wasm/),
      ...(r.native != null ? { native: r.native } : {}),
    });
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('the real loader: tfjs-node(-gpu) are not usable here (not installed), so auto picks wasm', async () => {
    const r = await initBackend();
    expect(r.backend).toBe('wasm');
    expect(r.tried[0].error).toMatch(
      /@tensorflow\/tfjs-node-gpu is (not installed|installed but failed to load)/,
    );
    expect(r.tried[2].error).toMatch(
      /@tensorflow\/tfjs-node is (not installed|installed but failed to load)/,
    );
  });

  it('node-gpu first when it loads and libtensorflow sees a GPU', async () => {
    const r = await initBackend({ environment: 'node', loader: fakeLoader({ 'node-gpu': 'installed' }) });
    expect(r).toMatchObject({
      backend: 'node-gpu',
      tfjsBackend: 'tensorflow',
      tried: [{ name: 'node-gpu' }],
      device: { kind: 'gpu' },
    });
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('a broken tfjs-node-gpu (CUDA libraries missing) falls through to tfjs-node', async () => {
    const r = await initBackend({
      environment: 'node',
      loader: fakeLoader({ 'node-gpu': 'load-fails', node: 'installed' }),
      dawnLoader: noDawn,
    });
    expect(r.backend).toBe('node');
    expect(r.tried[0].error).toMatch(/installed but failed to load \(libcudnn\.so\.8: cannot open/);
  });

  it('browser: webgpu without an adapter falls through to webgl', async () => {
    const r = await initBackend({
      environment: 'browser',
      loader: fakeLoader({ webgpu: 'init-fails', webgl: 'installed' }),
    });
    expect(r.backend).toBe('webgl');
    expect(r.tried[0]).toEqual({ name: 'webgpu', error: expect.stringMatching(/failed to initialise/) });
  });

  it('browser without webgpu/webgl packages picks wasm', async () => {
    const r = await initBackend({ environment: 'browser', loader: fakeLoader({}) });
    expect(r.backend).toBe('wasm');
    expect(r.tried.map((t) => t.name)).toEqual(['webgpu', 'webgl', 'wasm']);
  });

  it('cpu when nothing else loads; an error listing every attempt when nothing does', async () => {
    const r = await initBackend({
      environment: 'node',
      loader: fakeLoader({ wasm: 'load-fails' }),
      dawnLoader: noDawn,
    });
    expect(r.backend).toBe('cpu');
    const none = fakeLoader({ wasm: 'missing', cpu: 'missing' });
    const e = await initBackend({ environment: 'node', loader: none, dawnLoader: noDawn }).catch((x) => x);
    expect(e).toBeInstanceOf(BackendUnavailableError);
    const names = ['node-gpu', 'webgpu', 'node', 'wasm', 'cpu'];
    expect(e.tried.map((t: { name: string }) => t.name)).toEqual(names);
    expect(e.message).toMatch(/no backend could be initialised \(tried node-gpu, webgpu, node, wasm, cpu\)/);
  });
});

describe('explicit choice', () => {
  it('wasm and cpu by name', async () => {
    expect((await initBackend({ prefer: 'cpu' })).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const r = await initBackend({ prefer: 'wasm' });
    // With @bmp/backends-native built, the reason goes on with '; convolutions: native ...'.
    expect(r).toMatchObject({
      backend: 'wasm',
      reason: expect.stringMatching(/^wasm was asked for(; convolutions: native .*)?$/),
      tried: [{ name: 'wasm' }],
    });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('an installed optional backend by name', async () => {
    const r = await initBackend({ prefer: 'node', loader: fakeLoader({ node: 'installed' }) });
    expect(r.backend).toBe('node');
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it.each([
    [
      'node-gpu',
      /tfjs-node-gpu is not installed: install it with `npm install @tensorflow\/tfjs-node-gpu@4\.22\.0`.*CUDA Toolkit 11\.2 and cuDNN 8\.1/s,
    ],
    [
      'node',
      /tfjs-node is not installed: install it with `npm install @tensorflow\/tfjs-node@4\.22\.0`.*libtensorflow/s,
    ],
    ['webgl', /tfjs-backend-webgl is not installed/],
  ] as const)('missing %s throws how to install it (the real loader)', async (name, message) => {
    const e = await initBackend({ prefer: name }).catch((x) => x);
    expect(e).toBeInstanceOf(BackendUnavailableError);
    expect(e.message).toMatch(new RegExp(`the '${name}' backend is not available`));
    expect(e.message).toMatch(message);
    expect(tf.getBackend()).toBe('cpu'); // unchanged
  });

  it('broken ones: load failure, init failure, no backend registered', async () => {
    const loadFails = await initBackend({
      prefer: 'node-gpu',
      loader: fakeLoader({ 'node-gpu': 'load-fails' }),
    }).catch((x) => x);
    expect(loadFails.message).toMatch(/installed but failed to load \(libcudnn.*CUDA Toolkit 11\.2/s);
    const initFails = await initBackend({
      prefer: 'webgpu',
      environment: 'browser',
      loader: fakeLoader({ webgpu: 'init-fails' }),
    }).catch((x) => x);
    expect(initFails.message).toMatch(/the 'webgpu' backend failed to initialise/);
    const nothing = await initBackend({
      prefer: 'node',
      loader: fakeLoader({ node: 'registers-nothing' }),
    }).catch((x) => x);
    expect(nothing.message).toMatch(/registered no 'tensorflow' backend .*two copies of tfjs-core/);
  });

  it('an unknown name', async () => {
    await expect(initBackend({ prefer: 'tpu' as never })).rejects.toThrow(
      /unknown backend 'tpu'; known: auto, node-gpu, node, wasm, cpu, webgpu, webgl/,
    );
  });
});
