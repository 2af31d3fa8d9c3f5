// webgpu's Conv2DBackpropFilter as @bmp/backends' WGSL program (registered by initBackend) against the cpu
// backend's stock kernel (an independent implementation), on the same random inputs: the paper VGG's
// layers, channel counts that are not multiples of the program's 4 x 4 blocks, few and many output
// positions (1 to 64 threads per block), and random configurations (kernels 1-5, also non-square, strides
// 1-3, 'same' / 'valid' / numeric / explicit padding).
// Tolerance: max |webgpu - cpu| / max |cpu| <= 1e-5 (float32 sums in another order). Measured on llvmpipe:
// at most 9.8e-8.
import { tf, webgpuOrSkip } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src';
import { setTrainingKernelMode, trainingKernelModes } from '../src/internals';
import { type ConvCase, caseData, filterGrad, label, randomCases, scaledError } from './helpers';

const TOLERANCE = 1e-5;

const FIXED: ConvCase[] = [
  // paper VGG11 at width 0.125 on 32x32 inputs, batch 8: the first layer (8192 positions, 64 threads per
  // block), a middle one and the last (32 positions, 1 thread per block).
  { x: [8, 32, 32, 3], f: [3, 3, 3, 8], strides: [1, 1], pad: 'same' },
  { x: [8, 8, 8, 16], f: [3, 3, 16, 32], strides: [1, 1], pad: 'same' },
  { x: [8, 2, 2, 64], f: [3, 3, 64, 64], strides: [1, 1], pad: 'same' },
  { x: [2, 9, 9, 5], f: [3, 3, 5, 7], strides: [1, 1], pad: 'same' },
  { x: [1, 1, 1, 6], f: [1, 1, 6, 9], strides: [1, 1], pad: 'valid' },
  { x: [2, 10, 10, 4], f: [3, 3, 4, 5], strides: [2, 2], pad: 'valid' },
  { x: [2, 11, 12, 3], f: [5, 3, 3, 4], strides: [3, 2], pad: 'same' },
  { x: [1, 7, 7, 2], f: [7, 7, 2, 3], strides: [1, 1], pad: 'valid' },
];
const CASES = [...FIXED, ...randomCases(40, 11)];

let available = false;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await initBackend({ prefer: 'cpu', trainingKernels: false }); // cpu's stock kernel is the reference
  available = await webgpuOrSkip(async () => {
    const result = await initBackend({ prefer: 'webgpu' });
    expect(result.trainingKernels).toContain('webgpu:Conv2DBackpropFilter');
  }, 'the WebGPU Conv2DBackpropFilter tests');
  if (available) expect(trainingKernelModes()['webgpu:Conv2DBackpropFilter']).toBe('fast');
}, 60_000);

async function gradient(backend: 'cpu' | 'webgpu', c: ConvCase, i: number): Promise<Float32Array> {
  await tf.setBackend(backend);
  const d = caseData(c, 200 + 3 * i);
  const g = tf.tidy(() => filterGrad(tf.tensor(d.x, c.x), tf.tensor(d.dy, d.dyShape), c));
  try {
    return (await g.data()) as Float32Array;
  } finally {
    g.dispose();
  }
}

describe('webgpu Conv2DBackpropFilter (WGSL, register-blocked)', () => {
  it.for(CASES.map((c, i) => ({ name: label(c), c, i })))('$name', async ({ c, i }, { skip }) => {
    if (!available) skip();
    const expected = await gradient('cpu', c, i);
    const before = tf.memory().numTensors;
    const actual = await gradient('webgpu', c, i);
    expect(tf.memory().numTensors).toBe(before);
    expect(scaledError(actual, expected)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('the stock kernel stays reachable and agrees', async ({ skip }) => {
    if (!available) skip();
    const c = FIXED[1]!;
    const ours = await gradient('webgpu', c, 1);
    setTrainingKernelMode('webgpu:Conv2DBackpropFilter', 'stock');
    try {
      const stock = await gradient('webgpu', c, 1);
      expect(scaledError(ours, stock)).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      setTrainingKernelMode('webgpu:Conv2DBackpropFilter', 'fast');
    }
  });
});
