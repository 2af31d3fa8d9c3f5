// The threaded wasm build in Node (src/wasm/node-threads.ts): initBackend({ threads: 2 }) must start
// XNNPACK with 2 threads, leave no patch behind (global Worker, os.cpus), and compute the same
// convolution and gradients as the cpu backend's stock kernels (an independent implementation):
// max |wasm - cpu| / max |cpu| <= 1e-4 (float32 sums in another order, split over threads).
// The wasm backend is per process (one initialisation), so this file has its own.
import * as os from 'node:os';
import { tf } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type InitBackendResult, initBackend } from '../src';
import { type ConvCase, caseData, filterGrad, inputGrad, scaledError } from './helpers';

const TOLERANCE = 1e-4;
let wasm: InitBackendResult;
const realCores = os.cpus().length;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await initBackend({ prefer: 'cpu', trainingKernels: false });
  // native: false: the convolutions below must run on XNNPACK's threads, not @bmp/backends-native's.
  wasm = await initBackend({ prefer: 'wasm', threads: 2, environment: 'node', native: false });
});

describe('initBackend({ prefer: wasm, threads: 2 }) in Node', () => {
  it('starts the threaded build with 2 XNNPACK threads', async () => {
    expect(wasm.backend).toBe('wasm');
    expect(wasm.threads).toBe(2);
    expect(wasm.threadsNote).toBeUndefined();
    expect(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(true);
  });

  it('restores the global Worker and os.cpus after initialising', () => {
    expect((globalThis as Record<string, unknown>).Worker).toBeUndefined();
    expect(os.cpus().length).toBe(realCores);
  });

  it('conv2d forward, filter and input gradients agree with the cpu backend', async () => {
    const cases: ConvCase[] = [
      { x: [16, 16, 16, 8], f: [3, 3, 8, 16], strides: [1, 1], pad: 'same' },
      { x: [4, 9, 10, 5], f: [3, 2, 5, 7], strides: [2, 1], pad: 'valid' },
    ];
    for (const [i, c] of cases.entries()) {
      const d = caseData(c, 100 + i);
      const run = async (backend: 'cpu' | 'wasm') => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const x = tf.tensor4d(d.x, c.x);
          const f = tf.tensor4d(d.f, c.f);
          const dy = tf.tensor(d.dy, d.dyShape);
          const pad = c.pad as 'same' | 'valid';
          return [tf.conv2d(x, f, c.strides, pad), filterGrad(x, dy, c), inputGrad(dy, f, c)].map((t) =>
            t.dataSync(),
          );
        });
      };
      const want = await run('cpu');
      const got = await run('wasm');
      for (let k = 0; k < 3; k++) expect(scaledError(got[k], want[k])).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('a second call cannot change the thread count and says so', async () => {
    const again = await initBackend({ prefer: 'wasm', threads: 1, environment: 'node' });
    expect(again.threads).toBe(2);
    expect(again.threadsNote).toMatch(/already initialised with 2 thread/);
  });

  it('rejects a thread count that is not a positive integer', async () => {
    await expect(initBackend({ prefer: 'wasm', threads: 0 })).rejects.toThrow(
      /threads must be an integer >= 1/,
    );
    await expect(initBackend({ prefer: 'wasm', threads: 1.5 })).rejects.toThrow(/threads must be an integer/);
  });
});
