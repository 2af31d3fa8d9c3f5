// @bmp/backends-native's kernels through tfjs: initBackend({ prefer: 'wasm' }) (native on by default)
// against the cpu backend's stock kernels (initBackend({ prefer: 'cpu', trainingKernels: false }), an
// independent implementation), on the same random inputs.
// Tolerances: max |wasm - cpu| / max |cpu| <= 1e-4 for sums of products (convolutions, reductions,
// moments, pooling gradients: float32 in another order), <= 1e-5 for the element-wise binary ops (one
// rounding each, exact in both), <= 1e-3 for a whole VGG's gradients (a dozen layers of the above,
// batch norm dividing by small variances).
// Cases the native kernels do not cover (out channels 5, stride-2 input gradients, int32, reductions
// over inner or last axes, [N, 1, 1, C] operands) must still be right through the fallback kernels.
// Registration is process-global: this file registers the native kernels once, in beforeAll; the
// initBackend option tests that load no kernels come last.
// Without the addon built, the tests that need it are skipped (reason printed) unless
// BMP_REQUIRE_NATIVE=1; the comparisons then still run, on the fallback kernels.
import { loadNativeKernels } from '@bmp/backends-native';
import { paperVgg } from '@bmp/models';
import { MomentumSGD } from '@bmp/optimizer';
import { expectNoLeak, randomArray, seededRandom, tf } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type InitBackendResult,
  initBackend,
  nativeKernelThreads,
  nodeCoreCount,
  type TrainingKernel,
} from '../src';
import { loadNative, setTrainingKernelMode, trainingKernelModes } from '../src/internals';
import {
  type ConvCase,
  caseData,
  filterGrad,
  inputGrad,
  label,
  outShape,
  randomCases,
  scaledError,
} from './helpers';

const TOLERANCE = 1e-4;
const EXACT_TOLERANCE = 1e-5;
const REQUIRED = process.env.BMP_REQUIRE_NATIVE === '1';
const probe = await loadNative();
const HAS_NATIVE = probe.kernels != null;
if (!HAS_NATIVE) {
  console.warn(
    `[@bmp/backends native-kernels tests] native-only checks ${REQUIRED ? 'FAILING (BMP_REQUIRE_NATIVE=1)' : 'skipped'}: ${probe.reason}`,
  );
}
const itNative = HAS_NATIVE || REQUIRED ? it : it.skip;

const NATIVE_KEYS: TrainingKernel[] = [
  'wasm:Conv2D',
  'wasm:Conv2DBackpropFilter',
  'wasm:Conv2DBackpropInput',
  'wasm:Sum',
  'wasm:Mean',
  'wasm:Add',
  'wasm:Sub',
  'wasm:Multiply',
  'wasm:RealDiv',
  'wasm:MaxPoolGrad',
  'wasm:MaxPool',
  'wasm:Relu',
];

let wasm: InitBackendResult;

async function on<T extends tf.TensorContainer>(backend: 'cpu' | 'wasm', fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  return tf.tidy(fn);
}

type Arrays = (Float32Array | Int32Array | Uint8Array)[];

/** Runs `fn` on cpu then on wasm; returns both lists of results. */
async function both(fn: () => tf.Tensor[]): Promise<{ want: Arrays; got: Arrays }> {
  const read = () => fn().map((t) => t.dataSync() as Float32Array);
  const want = await on('cpu', read);
  const got = await on('wasm', read);
  return { want, got };
}

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  const cpu = await initBackend({ prefer: 'cpu', trainingKernels: false }); // cpu's stock kernels
  expect(cpu.backend).toBe('cpu');
  wasm = await initBackend({ prefer: 'wasm' });
  expect(wasm.backend).toBe('wasm');
  if (REQUIRED) expect(wasm.native, wasm.nativeNote).toBeDefined();
});

describe('initBackend({ prefer: wasm }) with @bmp/backends-native', () => {
  itNative('BMP_REQUIRE_NATIVE=1 or the addon built: native kernels in use', async () => {
    expect(wasm.nativeNote).toBeUndefined();
    expect(wasm.native).toEqual({
      isa: probe.choice!.isa,
      lanes: expect.any(Number),
      threads: await nodeCoreCount(),
      available: probe.choice!.available,
      isaChoice: probe.choice!.why,
    });
    expect(wasm.native!.available).toContain(wasm.native!.isa);
    // The variant goes into the device, which the trainer writes to config.json.
    expect(wasm.device.native).toEqual(wasm.native);
    expect(nativeKernelThreads()).toBe(wasm.native!.threads);
    expect(wasm.reason).toMatch(/^wasm was asked for; convolutions: native \S+ kernels, \d+ thread\(s\)$/);
    for (const key of NATIVE_KEYS) expect(wasm.trainingKernels).toContain(key);
  });

  itNative("trainingKernelModes(): 'native' for the native keys, 'fast' for Identity and Cast", () => {
    expect(trainingKernelModes()).toEqual({
      ...Object.fromEntries(NATIVE_KEYS.map((k) => [k, 'native'])),
      'wasm:Identity': 'fast',
      'wasm:Cast': 'fast',
    });
  });

  // Asserts in both states: with the addon built (every CI run) and without it.
  it('initBackend reports what loadNative() found: native and no note, or no native and its reason', () => {
    expect(wasm.native !== undefined, wasm.nativeNote).toBe(HAS_NATIVE);
    expect(wasm.nativeNote).toBe(HAS_NATIVE ? undefined : probe.reason);
  });
});

// Convolutions: the native kernels need out channels % 4 = 0 (and, for the input gradient, stride 1
// and in channels % 4 = 0). helpers' random cases (strides 1-3, kernels 1-5, every padding kind) are
// given such channel counts; the fixed ones add the models' shapes and the uncovered cases.
function withChannels(c: ConvCase, i: number): ConvCase {
  const ci = i % 2 === 0 ? [4, 8, 12][(i / 2) % 3] : c.x[3];
  const co = [4, 8, 12, 16, 20, 32, 48][i % 7];
  const out: ConvCase = { ...c, x: [c.x[0], c.x[1], c.x[2], ci], f: [c.f[0], c.f[1], ci, co] };
  return i % 3 === 0 ? { ...out, strides: [1, 1] } : out;
}

const NATIVE_CASES: ConvCase[] = [
  { x: [8, 16, 16, 3], f: [3, 3, 3, 8], strides: [1, 1], pad: 'same' }, // paper VGG's first layer
  { x: [4, 8, 8, 16], f: [3, 3, 16, 32], strides: [1, 1], pad: 'same' },
  { x: [2, 4, 4, 64], f: [3, 3, 64, 128], strides: [1, 1], pad: 'same' },
  { x: [3, 6, 6, 8], f: [1, 1, 8, 8], strides: [1, 1], pad: 'valid' },
  { x: [2, 11, 12, 4], f: [5, 3, 4, 12], strides: [3, 2], pad: 'same' },
  ...randomCases(30, 17)
    .map(withChannels)
    .filter((c) => outShape(c)[1] >= 1 && outShape(c)[2] >= 1),
];

const FALLBACK_CASES: ConvCase[] = [
  { x: [2, 7, 7, 4], f: [3, 3, 4, 5], strides: [1, 1], pad: 'same' }, // out channels 5
  { x: [2, 9, 8, 3], f: [3, 2, 3, 6], strides: [2, 1], pad: 'valid' }, // out channels 6
  { x: [2, 9, 9, 8], f: [3, 3, 8, 8], strides: [2, 2], pad: 'same' }, // stride-2 input gradient
  { x: [1, 6, 6, 6], f: [3, 3, 6, 8], strides: [1, 1], pad: 'same' }, // in channels 6: input gradient
  ...randomCases(8, 5).filter((c) => c.f[3] % 4 !== 0), // out channels 1-7, not 4
];

describe('Conv2D and its gradients agree with the cpu backend (1e-4)', () => {
  const cases = [
    ...NATIVE_CASES.map((c) => ['native', c] as const),
    ...FALLBACK_CASES.map((c) => ['fallback', c] as const),
  ];
  it.each(cases.map(([kind, c], i) => [`${kind}: ${label(c)}`, c, i] as const))('%s', async (_, c, i) => {
    const d = caseData(c, 100 + 3 * i);
    const { want, got } = await both(() => {
      const x = tf.tensor4d(d.x, c.x);
      const f = tf.tensor4d(d.f, c.f);
      const dy = tf.tensor(d.dy, d.dyShape);
      return [tf.conv2d(x, f, c.strides, c.pad as never), filterGrad(x, dy, c), inputGrad(dy, f, c)];
    });
    for (const [k, name] of ['forward', 'filter gradient', 'input gradient'].entries()) {
      expect(scaledError(got[k], want[k]), name).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('through tf.grads (as training runs them)', async () => {
    for (const [i, c] of [NATIVE_CASES[0], NATIVE_CASES[4], NATIVE_CASES[8], FALLBACK_CASES[2]].entries()) {
      const d = caseData(c, 900 + 3 * i);
      const { want, got } = await both(() =>
        tf.grads((x: tf.Tensor, f: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad as never),
              tf.tensor(d.dy, d.dyShape),
            ),
          ),
        )([tf.tensor(d.x, c.x), tf.tensor(d.f, c.f)]),
      );
      expect(scaledError(got[0], want[0]), `${label(c)} dx`).toBeLessThanOrEqual(TOLERANCE);
      expect(scaledError(got[1], want[1]), `${label(c)} df`).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  itNative(
    'covered convolutions run the addon: tf.conv2d on wasm is bit-identical to convForward',
    async () => {
      const kernels = loadNativeKernels().kernels!;
      for (const [i, c] of NATIVE_CASES.slice(0, 6).entries()) {
        const d = caseData(c, 40 + i);
        const viaTf = await on('wasm', () =>
          tf.conv2d(tf.tensor4d(d.x, c.x), tf.tensor4d(d.f, c.f), c.strides, c.pad as never).dataSync(),
        );
        const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad as never);
        const direct = new Float32Array(viaTf.length);
        const g = Int32Array.from([
          ...c.x,
          c.f[0],
          c.f[1],
          c.f[3],
          info.outHeight,
          info.outWidth,
          info.strideHeight,
          info.strideWidth,
          info.padInfo.top,
          info.padInfo.left,
        ]);
        expect(kernels.convForward(d.x, d.f, direct, g, 1)).toBe(true);
        expect(Array.from(viaTf)).toEqual(Array.from(direct));
      }
    },
  );
});

describe('Sum, Mean and moments agree with the cpu backend', () => {
  const shape: [number, number, number, number] = [3, 5, 7, 8];
  const xs = randomArray(3 * 5 * 7 * 8, 21, 2);
  const AXES: (number | number[] | undefined)[] = [
    [0, 1, 2], // native: leading axes
    [0],
    [0, 1],
    [-4, -3, -2], // the same, negative
    [2, 0, 1], // unsorted
    -4,
    [1, 2], // fallback: not leading
    -1, // fallback: the last axis
    [1],
    [0, 1, 2, 3], // fallback: every axis
    undefined, // every axis
  ];
  for (const axis of AXES) {
    for (const keepDims of [false, true]) {
      it(`axis ${JSON.stringify(axis)}, keepDims ${keepDims}: sum and mean (1e-4)`, async () => {
        const { want, got } = await both(() => {
          const x = tf.tensor4d(xs, shape);
          const s = tf.sum(x, axis, keepDims);
          const m = tf.mean(x, axis, keepDims);
          return [s, m, tf.tensor1d(s.shape), tf.tensor1d(m.shape)];
        });
        expect(scaledError(got[0], want[0])).toBeLessThanOrEqual(TOLERANCE);
        expect(scaledError(got[1], want[1])).toBeLessThanOrEqual(TOLERANCE);
        expect(Array.from(got[2])).toEqual(Array.from(want[2])); // shapes
        expect(Array.from(got[3])).toEqual(Array.from(want[3]));
      });
    }
  }

  it('other ranks and sizes: [1000, 6], [4, 9], [2, 3, 4], [1, 5, 5, 4], [16, 32, 32, 8] (threaded)', async () => {
    for (const [s, axis] of [
      [[1000, 6], 0],
      [
        [16, 32, 32, 8],
        [0, 1, 2],
      ],
      [[4, 9], [0]],
      [
        [2, 3, 4],
        [0, 1],
      ],
      [
        [1, 5, 5, 4],
        [0, 1, 2],
      ],
    ] as [number[], number | number[]][]) {
      const xs2 = randomArray(
        s.reduce((a, b) => a * b, 1),
        3,
      );
      const { want, got } = await both(() => [
        tf.sum(tf.tensor(xs2, s), axis),
        tf.mean(tf.tensor(xs2, s), axis),
      ]);
      expect(scaledError(got[0], want[0]), `${s}`).toBeLessThanOrEqual(TOLERANCE);
      expect(scaledError(got[1], want[1]), `${s}`).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('int32 and bool sums (the fallback) are exact', async () => {
    const ints = Int32Array.from({ length: 3 * 4 * 5 }, (_, i) => ((i * 7919) % 23) - 11);
    const { want, got } = await both(() => {
      const x = tf.tensor3d(ints, [3, 4, 5], 'int32');
      return [tf.sum(x, [0, 1]), tf.sum(x, 0, true), tf.sum(tf.greater(x, 0), [0])];
    });
    for (let k = 0; k < 3; k++) expect(Array.from(got[k])).toEqual(Array.from(want[k]));
  });

  it('tf.moments over [0, 1, 2] (batch norm statistics), keepDims false and true', async () => {
    const shifted = xs.map((v) => 3 + v); // a non-zero mean
    for (const keepDims of [false, true]) {
      const { want, got } = await both(() => {
        const { mean, variance } = tf.moments(tf.tensor4d(shifted, shape), [0, 1, 2], keepDims);
        return [mean, variance];
      });
      expect(scaledError(got[0], want[0])).toBeLessThanOrEqual(TOLERANCE);
      expect(scaledError(got[1], want[1])).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

describe('Add, Sub, Multiply, RealDiv agree with the cpu backend (1e-5)', () => {
  const shape = [3, 5, 7, 8];
  const xs = randomArray(3 * 5 * 7 * 8, 31, 2);
  // Operands bounded away from zero, so that divisions stay finite either way round.
  const away = (n: number, seed: number) => {
    const r = seededRandom(seed);
    return Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (0.5 + r()));
  };
  const OPERANDS: [string, number[]][] = [
    ['[C]', [8]],
    ['[1, 1, 1, C]', [1, 1, 1, 8]],
    ['[W, C]', [7, 8]],
    ['scalar', []],
    ['[1]', [1]],
    ['same shape', shape],
    ['[N, 1, 1, C] (fallback)', [3, 1, 1, 8]],
    ['[H, 1, C] (fallback)', [5, 1, 8]],
    ['[1, H, W, 1] (fallback)', [1, 5, 7, 1]],
  ];
  const OPS = [
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
  ] as const;
  for (const [name, vShape] of OPERANDS) {
    it(`x [${shape}] with ${name}, both orders`, async () => {
      const vs = away(
        vShape.reduce((a, b) => a * b, 1),
        vShape.length + 7,
      );
      const xAway = away(xs.length, 99);
      const { want, got } = await both(() => {
        const x = tf.tensor(xs, shape);
        const xd = tf.tensor(xAway, shape);
        const v = tf.tensor(vs, vShape);
        return OPS.flatMap(([, op]) => [op(x, v), op(v, xd)]);
      });
      for (const [k, [opName]] of OPS.entries()) {
        expect(scaledError(got[2 * k], want[2 * k]), `x ${opName} v`).toBeLessThanOrEqual(EXACT_TOLERANCE);
        expect(scaledError(got[2 * k + 1], want[2 * k + 1]), `v ${opName} x`).toBeLessThanOrEqual(
          EXACT_TOLERANCE,
        );
      }
    });
  }

  it('int32 operands (the fallback) are exact; mixed shapes broadcast both ways (fallback)', async () => {
    const { want, got } = await both(() => {
      const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
      const b = tf.tensor1d([7, -8, 9], 'int32');
      const col = tf.tensor2d([0.5, -2], [2, 1]);
      const row = tf.tensor2d([1.5, 3, -4], [1, 3]);
      return [tf.add(a, b), tf.mul(b, a), tf.sub(a, b), tf.add(col, row), tf.div(row, col)];
    });
    for (let k = 0; k < got.length; k++) expect(Array.from(got[k])).toEqual(Array.from(want[k]));
  });
});

describe('max pooling and its gradient (tf.grad of tf.maxPool) agree with the cpu backend', () => {
  const CASES: {
    x: [number, number, number, number];
    filter: [number, number];
    strides: [number, number];
    pad: 'same' | 'valid';
  }[] = [
    { x: [4, 16, 16, 8], filter: [2, 2], strides: [2, 2], pad: 'valid' }, // paper VGG's pools
    { x: [2, 5, 7, 3], filter: [2, 2], strides: [2, 2], pad: 'valid' }, // last row/column unused
    { x: [2, 6, 6, 4], filter: [3, 3], strides: [1, 1], pad: 'same' }, // overlapping windows
    { x: [2, 7, 5, 3], filter: [3, 2], strides: [2, 3], pad: 'same' },
    { x: [1, 9, 8, 5], filter: [3, 3], strides: [3, 2], pad: 'valid' },
  ];
  it.each(CASES.map((c, i) => [JSON.stringify(c), c, i] as const))(
    '%s: ties and smooth inputs (1e-4)',
    async (_, c, i) => {
      const size = c.x.reduce((a, b) => a * b, 1);
      const r = seededRandom(70 + i);
      const ties = Float32Array.from({ length: size }, () => Math.floor(r() * 5) - 2);
      const smooth = Float32Array.from({ length: size }, () => 2 * r() - 1);
      for (const xs of [ties, smooth]) {
        const { want, got } = await both(() => {
          const x = tf.tensor4d(xs, c.x);
          const y = tf.maxPool(x, c.filter, c.strides, c.pad);
          const dy = tf.tensor(randomArray(y.size, 5 + i), y.shape);
          return [
            tf.grad((v) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, c.filter, c.strides, c.pad), dy)))(x),
          ];
        });
        expect(scaledError(got[0], want[0])).toBeLessThanOrEqual(TOLERANCE);
        // The pooled values themselves: maxima, so exactly the cpu backend's.
        const pooled = await both(() => [tf.maxPool(tf.tensor4d(xs, c.x), c.filter, c.strides, c.pad)]);
        expect(Array.from(pooled.got[0]!)).toEqual(Array.from(pooled.want[0]!));
      }
    },
  );
});

describe('Relu agrees with the stock wasm kernel bit for bit', () => {
  itNative('float32 with -0, NaN, infinities and denormals; int32 (the fallback)', async () => {
    await tf.setBackend('wasm');
    const values = [
      ...randomArray(300, 8),
      0,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -Infinity,
      1e-45,
      -1e-45,
    ];
    const relu = () => tf.tidy(() => tf.relu(tf.tensor1d(values)).dataSync() as Float32Array);
    const native = relu();
    try {
      setTrainingKernelMode('wasm:Relu', 'stock');
      const stock = relu();
      expect(new Uint32Array(native.buffer)).toEqual(new Uint32Array(stock.buffer));
    } finally {
      setTrainingKernelMode('wasm:Relu', 'native');
    }
    const ints = tf.tidy(() => Array.from(tf.relu(tf.tensor1d([-3, 0, 4], 'int32')).dataSync()));
    expect(ints).toEqual([0, 0, 4]);
  });
});

describe('switching modes', () => {
  itNative(
    "setTrainingKernelMode('wasm:Conv2D', 'fast' | 'stock') switches back; results still agree",
    async () => {
      const c = NATIVE_CASES[1];
      const d = caseData(c, 13);
      const conv = () => [tf.conv2d(tf.tensor4d(d.x, c.x), tf.tensor4d(d.f, c.f), c.strides, c.pad as never)];
      const { want, got: native } = await both(conv);
      try {
        for (const mode of ['fast', 'stock'] as const) {
          setTrainingKernelMode('wasm:Conv2D', mode);
          expect(trainingKernelModes()['wasm:Conv2D']).toBe(mode);
          const other = await on('wasm', () => conv().map((t) => t.dataSync()));
          expect(scaledError(other[0], want[0]), mode).toBeLessThanOrEqual(TOLERANCE);
          expect(scaledError(other[0], native[0]), mode).toBeLessThanOrEqual(TOLERANCE);
        }
        for (const key of ['wasm:Sum', 'wasm:Multiply', 'wasm:Conv2DBackpropInput'] as const) {
          setTrainingKernelMode(key, 'fast');
        }
        const x = randomArray(2 * 4 * 4 * 8, 1);
        const fast = await both(() => [
          tf.sum(tf.mul(tf.tensor4d(x, [2, 4, 4, 8]), tf.tensor1d(randomArray(8, 2))), [0, 1, 2]),
        ]);
        expect(scaledError(fast.got[0], fast.want[0])).toBeLessThanOrEqual(TOLERANCE);
      } finally {
        for (const key of ['wasm:Conv2D', 'wasm:Sum', 'wasm:Multiply', 'wasm:Conv2DBackpropInput'] as const) {
          setTrainingKernelMode(key, 'native');
        }
      }
      expect(trainingKernelModes()['wasm:Conv2D']).toBe('native');
      const again = await on('wasm', () => conv().map((t) => t.dataSync()));
      expect(Array.from(again[0])).toEqual(Array.from(native[0]));
      expect(() => setTrainingKernelMode('wasm:Identity', 'native')).toThrow(/has no native kernel/);
    },
  );
});

describe('paper VGG11 (width 0.125, 16x16x3, batch 8) on wasm + native', () => {
  it('trains 5 steps: loss falls, no tensor leaks; gradients agree with the cpu backend (1e-3)', async () => {
    await tf.setBackend('wasm');
    const model = paperVgg({
      depth: 11,
      numClasses: 4,
      widthMultiplier: 0.125,
      inputShape: [16, 16, 3],
      seed: 3,
    });
    const opt = new MomentumSGD({ learningRate: 0.05, momentum: 0.9, blocks: model.blocks });
    const x = tf.tensor4d(randomArray(8 * 16 * 16 * 3, 5), [8, 16, 16, 3]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
    const loss = () => {
      const logits = model.apply(x, { training: true });
      const logProbs = tf.sub(logits, tf.logSumExp(logits, 1, true));
      return tf.neg(tf.mean(tf.sum(tf.mul(labels, logProbs), 1))) as tf.Scalar;
    };
    const losses: number[] = [];
    const step = () => {
      const { value, grads } = tf.variableGrads(loss, [...model.trainableVariables]);
      opt.applyGradients(grads);
      losses.push(value.dataSync()[0]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // creates the momentum slots
    // The gradients after one step, on both backends (the variables move between them as needed).
    const gradients = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const { value, grads } = tf.variableGrads(loss, [...model.trainableVariables]);
      const out = Object.fromEntries(
        Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array]),
      );
      const v = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return { out, v };
    };
    const onWasm = await gradients('wasm');
    const onCpu = await gradients('cpu');
    await tf.setBackend('wasm');
    expect(Object.keys(onWasm.out).sort()).toEqual(Object.keys(onCpu.out).sort());
    expect(Object.keys(onWasm.out).length).toBe(model.trainableVariables.length);
    expect(Math.abs(onWasm.v - onCpu.v) / Math.abs(onCpu.v)).toBeLessThanOrEqual(1e-4);
    for (const [name, g] of Object.entries(onWasm.out)) {
      expect(scaledError(g, onCpu.out[name]), name).toBeLessThanOrEqual(1e-3);
    }
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      await expectNoLeak(step, `step ${i + 2}`);
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    expect(losses).toHaveLength(5);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[4]).toBeLessThan(losses[0]);
    for (let i = 2; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[0]);
    opt.dispose();
    model.dispose();
    tf.dispose([x, labels]);
  }, 180_000); // 20 s alone; past 60 s while CI ran every package at once on 2 cores
});

// Last: these initialise wasm again with loaders that provide no kernels (the kernels registered above
// stay, as they would in an application calling initBackend twice).
describe('initBackend native options', () => {
  it("a loader that cannot find the package: nativeNote says 'not installed', no native", async () => {
    const r = await initBackend({
      prefer: 'wasm',
      nativeLoader: () =>
        Promise.reject(
          Object.assign(new Error("Cannot find module '@bmp/backends-native'"), { code: 'MODULE_NOT_FOUND' }),
        ),
    });
    expect(r.backend).toBe('wasm');
    expect(r.native).toBeUndefined();
    expect(r.nativeNote).toMatch(/@bmp\/backends-native is not installed/);
    expect(r.reason).toBe('wasm was asked for');
  });

  it('a loader that fails otherwise: nativeNote says it failed to load, with the error', async () => {
    const r = await initBackend({ prefer: 'wasm', nativeLoader: () => Promise.reject(new Error('boom')) });
    expect(r.native).toBeUndefined();
    expect(r.nativeNote).toMatch(/failed to load \(boom\)/);
  });

  it("an addon that is not built: nativeNote is loadNativeKernels()'s reason", async () => {
    const r = await initBackend({
      prefer: 'wasm',
      nativeLoader: async () => ({ loadNativeKernels: () => ({ kernels: null, path: 'x', reason: 'R' }) }),
    });
    expect(r.native).toBeUndefined();
    expect(r.nativeNote).toBe('R');
  });

  it('native: false and trainingKernels: false turn it off, and say so', async () => {
    const off = await initBackend({ prefer: 'wasm', native: false });
    expect(off.native).toBeUndefined();
    expect(off.nativeNote).toMatch(/native kernels off \(native: false\)/);
    const none = await initBackend({ prefer: 'wasm', trainingKernels: false });
    expect(none.native).toBeUndefined();
    expect(none.nativeNote).toMatch(/off \(trainingKernels: false\)/);
    const cpu = await initBackend({ prefer: 'cpu' });
    expect(cpu.native).toBeUndefined();
    expect(cpu.nativeNote).toBeUndefined(); // only wasm in Node uses them
    await tf.setBackend('wasm');
  });

  it('nativeThreads must be an integer >= 1', async () => {
    await expect(initBackend({ prefer: 'wasm', nativeThreads: 0 })).rejects.toThrow(
      /nativeThreads must be an integer >= 1, got 0/,
    );
    await expect(initBackend({ prefer: 'wasm', nativeThreads: 1.5 })).rejects.toThrow(
      /nativeThreads must be an integer/,
    );
  });

  itNative(
    'nativeThreads sets the thread count; every native kernel gives the same bits with 1 and 3',
    async () => {
      const c = NATIVE_CASES[1];
      const d = caseData(c, 8);
      // Large enough (131072 elements) for the element-wise kernels to split the work too.
      const big = randomArray(16 * 32 * 32 * 8, 9);
      const v = randomArray(8, 10);
      const all = () => {
        const x = tf.tensor4d(d.x, c.x);
        const f = tf.tensor4d(d.f, c.f);
        const dy = tf.tensor(d.dy, d.dyShape);
        const b = tf.tensor4d(big, [16, 32, 32, 8]);
        return [
          tf.conv2d(x, f, c.strides, c.pad as never),
          filterGrad(x, dy, c),
          inputGrad(dy, f, c),
          tf.sum(b, [0, 1, 2]),
          tf.mean(b, [0, 1, 2], true),
          tf.mul(b, tf.tensor1d(v)),
          tf.div(tf.tensor1d(v), b),
          tf.grad((t) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), 2)))(b),
        ].map((t) => Array.from(t.dataSync()));
      };
      const results: number[][][] = [];
      for (const nativeThreads of [1, 3]) {
        const r = await initBackend({ prefer: 'wasm', nativeThreads });
        expect(r.native?.threads).toBe(nativeThreads);
        expect(nativeKernelThreads()).toBe(nativeThreads);
        expect(r.reason).toMatch(new RegExp(`native \\S+ kernels, ${nativeThreads} thread\\(s\\)`));
        results.push(await on('wasm', all));
      }
      for (let k = 0; k < results[0].length; k++) expect(results[1][k], `output ${k}`).toEqual(results[0][k]);
    },
  );
});
