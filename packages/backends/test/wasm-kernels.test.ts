// The Conv2D-based kernels against the cpu backend's stock kernels (an independent implementation),
// on the same random inputs. Tolerance: max |ours - cpu| / max |cpu| <= 1e-4 (float32 sums in another
// order; the largest value sets the scale, since elementwise ratios are meaningless near zero).
import { tf } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src';
import { setTrainingKernelMode, trainingKernelModes } from '../src/internals';
import { type ConvCase, caseData, filterGrad, inputGrad, label, randomCases, scaledError } from './helpers';

const TOLERANCE = 1e-4;

// The models' own configurations (paper VGG, residual nets: 3x3 and 1x1, stride 1, 'same'), then
// random ones covering strides 1-3, kernels 1-5, 'same' / 'valid' / numeric / explicit padding.
const FIXED: ConvCase[] = [
  // The first VGG layer at batch 16, not 64: the code path does not depend on the batch, and the cpu
  // reference at 64 took 30-40 s of synchronous work, enough to stall vitest's worker RPC under load.
  { x: [16, 32, 32, 3], f: [3, 3, 3, 16], strides: [1, 1], pad: 'same' },
  { x: [8, 4, 4, 64], f: [3, 3, 64, 128], strides: [1, 1], pad: 'same' },
  { x: [4, 6, 6, 8], f: [1, 1, 8, 8], strides: [1, 1], pad: 'same' },
  { x: [2, 10, 10, 4], f: [3, 3, 4, 5], strides: [2, 2], pad: 'valid' },
  { x: [2, 11, 12, 3], f: [5, 3, 3, 4], strides: [3, 2], pad: 'same' },
  { x: [2, 8, 9, 3], f: [4, 2, 3, 4], strides: [1, 1], pad: 'same' },
  { x: [1, 7, 7, 2], f: [7, 7, 2, 3], strides: [1, 1], pad: 'valid' },
];
const CASES = [...FIXED, ...randomCases(60, 7)];

async function on<T extends tf.TensorContainer>(backend: 'cpu' | 'wasm', fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  return tf.tidy(fn);
}

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  const cpu = await initBackend({ prefer: 'cpu', trainingKernels: false }); // keep cpu's stock kernels
  expect(cpu.backend).toBe('cpu');
  // native: false: these are the kernels built from wasm's own (native-kernels.test.ts tests the C++ ones).
  const wasm = await initBackend({ prefer: 'wasm', native: false });
  expect(wasm.backend).toBe('wasm');
  expect(wasm.native).toBeUndefined();
  expect(trainingKernelModes()).toEqual({
    'wasm:Conv2DBackpropFilter': 'fast',
    'wasm:Conv2DBackpropInput': 'fast',
    'wasm:MaxPoolGrad': 'fast',
    'wasm:Conv2D': 'fast',
    'wasm:Identity': 'fast',
    'wasm:Cast': 'fast',
  });
});

describe('wasm Conv2DBackpropFilter (Conv2D-based)', () => {
  it.each(CASES.map((c, i) => [label(c), c, i] as const))('%s', async (_, c, i) => {
    const d = caseData(c, 100 + 3 * i);
    const grad = () => filterGrad(tf.tensor(d.x, c.x), tf.tensor(d.dy, d.dyShape), c).dataSync();
    const expected = await on('cpu', grad);
    const actual = await on('wasm', grad);
    expect(scaledError(actual, expected)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('wasm Conv2DBackpropInput (Conv2D-based)', () => {
  it.each(CASES.map((c, i) => [label(c), c, i] as const))('%s', async (_, c, i) => {
    const d = caseData(c, 500 + 3 * i);
    const grad = () => inputGrad(tf.tensor(d.dy, d.dyShape), tf.tensor(d.f, c.f), c).dataSync();
    const expected = await on('cpu', grad);
    const actual = await on('wasm', grad);
    expect(scaledError(actual, expected)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('front padding larger than kernel - 1 goes to the stock kernel (still correct)', async () => {
    const c: ConvCase = {
      x: [2, 6, 6, 2],
      f: [2, 2, 2, 3],
      strides: [1, 1],
      pad: [
        [0, 0],
        [2, 0],
        [3, 1],
        [0, 0],
      ],
    };
    const d = caseData(c, 9);
    const grad = () => inputGrad(tf.tensor(d.dy, d.dyShape), tf.tensor(d.f, c.f), c).dataSync();
    expect(scaledError(await on('wasm', grad), await on('cpu', grad))).toBeLessThanOrEqual(TOLERANCE);
  });

  it("'stock' mode runs the backend's own kernel, with the same result", async () => {
    const c = CASES[1];
    const d = caseData(c, 11);
    const grad = () => inputGrad(tf.tensor(d.dy, d.dyShape), tf.tensor(d.f, c.f), c).dataSync();
    const fast = await on('wasm', grad);
    setTrainingKernelMode('wasm:Conv2DBackpropInput', 'stock');
    try {
      expect(scaledError(await on('wasm', grad), fast)).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      setTrainingKernelMode('wasm:Conv2DBackpropInput', 'fast');
    }
    expect(() => setTrainingKernelMode('wasm:Conv2DBackpropFilter', 'stock')).toThrow(/no stock kernel/);
  });
});

describe('wasm Conv2D with a numeric padding', () => {
  // tfjs-core sizes the output of `pad: number` with the filter height and stride height on both axes;
  // wasm's stock kernel let XNNPACK size it from the real ones and wrote past the output (a "memory access
  // out of bounds" a few kernels later). The forward must now equal the cpu backend's, shape included.
  const NUMERIC: ConvCase[] = [
    { x: [3, 6, 5, 8], f: [3, 2, 8, 32], strides: [1, 1], pad: 1 }, // XNNPACK: one more column
    { x: [1, 9, 13, 6], f: [4, 4, 6, 1], strides: [1, 2], pad: 0 }, // strides differ
    { x: [2, 8, 9, 4], f: [5, 2, 4, 4], strides: [1, 1], pad: 0 }, // tfjs' output is narrower: input cut
    { x: [2, 7, 7, 3], f: [3, 3, 3, 5], strides: [2, 2], pad: 1 }, // square: unchanged path
  ];
  it.each(NUMERIC.map((c, i) => [label(c), c, i] as const))('%s', async (_, c, i) => {
    const d = caseData(c, 700 + 3 * i);
    const forward = () => {
      const y = tf.conv2d(tf.tensor4d(d.x, c.x), tf.tensor4d(d.f, c.f), c.strides, c.pad as number);
      return { shape: y.shape, values: y.dataSync() };
    };
    const expected = await on('cpu', forward);
    const actual = await on('wasm', forward);
    expect(actual.shape).toEqual(expected.shape);
    expect(scaledError(actual.values, expected.values)).toBeLessThanOrEqual(TOLERANCE);
    // The heap is intact: a later kernel still computes correctly.
    const after = await on('wasm', () => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]);
    expect(after).toBe(6);
  });
});

describe('through tf.grads, as training uses the kernels', () => {
  const cases = [FIXED[0], FIXED[3], FIXED[4], ...CASES.slice(FIXED.length, FIXED.length + 12)];
  it.each(cases.map((c, i) => [label(c), c, i] as const))('%s', async (_, c, i) => {
    const d = caseData(c, 900 + 3 * i);
    const grads = () => {
      const g = tf.grads((x: tf.Tensor, f: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad as never),
            tf.tensor(d.dy, d.dyShape),
          ),
        ),
      )([tf.tensor(d.x, c.x), tf.tensor(d.f, c.f)]);
      return g.map((t) => t.dataSync());
    };
    const [ex, ef] = await on('cpu', grads);
    const [ax, af] = await on('wasm', grads);
    expect(scaledError(ax, ex)).toBeLessThanOrEqual(TOLERANCE);
    expect(scaledError(af, ef)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('unsupported configurations and resources', () => {
  it('the filter gradient rejects NCHW and non-float32 with a clear error', async () => {
    await tf.setBackend('wasm');
    const c: ConvCase = { x: [1, 4, 4, 2], f: [3, 3, 2, 2], strides: [1, 1], pad: 'same' };
    tf.tidy(() => {
      const run = (attrs: Record<string, unknown>, x = tf.ones(c.x), dy = tf.ones([1, 4, 4, 2])) =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
          strides: c.strides,
          pad: c.pad,
          dataFormat: 'NHWC',
          filterShape: c.f,
          ...attrs,
        } as never);
      expect(() => run({ dataFormat: 'NCHW' })).toThrow(/unsupported dataFormat 'NCHW' \(only NHWC\)/);
      expect(() => run({}, tf.ones(c.x, 'int32'))).toThrow(/only float32/);
    });
  });

  it('repeated gradients leak no tensors and do not grow the wasm heap', async () => {
    await tf.setBackend('wasm');
    const c = FIXED[1];
    const d = caseData(c, 3);
    const x = tf.tensor(d.x, c.x);
    const f = tf.tensor(d.f, c.f);
    const dy = tf.tensor(d.dy, d.dyShape);
    const step = () =>
      tf.tidy(() => {
        filterGrad(x, dy, c).dataSync();
        inputGrad(dy, f, c).dataSync();
        const s = { ...c, strides: [2, 2] as [number, number] };
        const sd = caseData(s, 4);
        filterGrad(tf.tensor(sd.x, s.x), tf.tensor(sd.dy, sd.dyShape), s).dataSync();
        inputGrad(tf.tensor(sd.dy, sd.dyShape), tf.tensor(sd.f, s.f), s).dataSync();
      });
    step();
    const backend = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
    const heap = backend.wasm.HEAPU8.length;
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    expect(backend.wasm.HEAPU8.length).toBe(heap);
    tf.dispose([x, f, dy]);
  });
});
