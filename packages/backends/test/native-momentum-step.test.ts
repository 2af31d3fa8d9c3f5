// BmpSgdMomentumStep on wasm: @bmp/optimizer's momentum update in one native pass must give the bits of
// its composed ops (each float32 operation rounded on its own), run on wasm with the kernel unregistered
// and, for MomentumSGD, on the cpu backend. Three steps of MomentumSGD (weight decay, and Nesterov
// without it) and ScaleAmendedSGD on the same weights and gradients, compared bit for bit: weights and
// momentum buffers.
// Without the addon built these tests are skipped (reason printed) unless BMP_REQUIRE_NATIVE=1.
import { type Block, MOMENTUM_STEP_KERNEL, MomentumSGD, ScaleAmendedSGD } from '@bmp/optimizer';
import { randomArray, tf } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, MOMENTUM_STEP } from '../src';
import { loadNative } from '../src/internals';

const REQUIRED = process.env.BMP_REQUIRE_NATIVE === '1';
const probe = await loadNative();
if (probe.kernels == null) {
  console.warn(
    `[@bmp/backends native-momentum-step tests] ${REQUIRED ? 'FAILING' : 'skipped'}: ${probe.reason}`,
  );
}
const describeNative = probe.kernels != null || REQUIRED ? describe : describe.skip;

const SHAPES = [[3, 3, 4, 8], [8, 5], [5]];

type Make = (blocks: Block[]) => MomentumSGD | ScaleAmendedSGD;

let uid = 0;

function expectSameBits(got: Float32Array[], want: Float32Array[], what: string): void {
  expect(got).toHaveLength(want.length);
  for (const [i, g] of got.entries()) {
    expect(new Uint32Array(g.buffer), `${what} ${i}`).toEqual(new Uint32Array(want[i]!.buffer));
  }
}

/** Three steps on `backend`; the weights and buffers after them, and the kernels that ran. */
async function steps(backend: 'cpu' | 'wasm', make: Make, withKernel = true) {
  await tf.setBackend(backend);
  const kernel = tf.getKernel(MOMENTUM_STEP, 'wasm')!;
  if (!withKernel) tf.unregisterKernel(MOMENTUM_STEP, 'wasm');
  try {
    return await stepsOn(make);
  } finally {
    if (!withKernel) tf.registerKernel(kernel);
  }
}

async function stepsOn(make: Make) {
  uid++;
  const vars = SHAPES.map((s, i) =>
    tf.variable(
      tf.tensor(
        randomArray(
          s.reduce((a, b) => a * b, 1),
          10 + i,
        ),
        s,
      ),
      true,
      `w${uid}_${i}`,
    ),
  );
  const blocks: Block[] = [
    { weight: vars[0]! as tf.Variable, kind: 'conv2d', inputPositions: 36, outputPositions: 36 },
    { weight: vars[1]! as tf.Variable, kind: 'dense' },
  ];
  const opt = make(blocks);
  const kernels: string[] = [];
  for (let step = 0; step < 3; step++) {
    const grads = Object.fromEntries(
      vars.map((v, i) => [v.name, tf.tensor(randomArray(v.size, 100 * step + i, 3), v.shape)]),
    );
    const info = await tf.profile(() => opt.applyGradients(grads));
    // Kernel names, with the size of the first output for the element-wise ones.
    kernels.push(
      ...info.kernels.map((k) =>
        k.name === 'Multiply' ? `Multiply ${tf.util.sizeFromShape(k.outputShapes[0] ?? [])}` : k.name,
      ),
    );
    tf.dispose(grads);
  }
  const weights = vars.map((v) => v.dataSync().slice() as Float32Array);
  const buffers = (await opt.getWeights()).slice(1).map((w) => w.tensor.dataSync().slice() as Float32Array);
  opt.dispose();
  tf.dispose(vars);
  return { weights, buffers, kernels };
}

describeNative('BmpSgdMomentumStep on wasm', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu', trainingKernels: false });
    const wasm = await initBackend({ prefer: 'wasm' });
    expect(wasm.native, wasm.nativeNote).toBeDefined();
  });

  it("is @bmp/optimizer's kernel name, registered on wasm only", () => {
    expect(MOMENTUM_STEP).toBe(MOMENTUM_STEP_KERNEL);
    expect(tf.getKernel(MOMENTUM_STEP, 'wasm')).toBeDefined();
    expect(tf.getKernel(MOMENTUM_STEP, 'cpu')).toBeUndefined();
  });

  const cases: [string, Make][] = [
    [
      'MomentumSGD, weight decay',
      () => new MomentumSGD({ learningRate: 0.1234567, momentum: 0.9012345, weightDecay: 0.0051234 }),
    ],
    [
      'MomentumSGD, Nesterov, no weight decay',
      () => new MomentumSGD({ learningRate: 0.05, momentum: 0.87, nesterov: true }),
    ],
    [
      'ScaleAmendedSGD, weight decay',
      (blocks) => new ScaleAmendedSGD({ learningRate: 0.0123, momentum: 0.9, weightDecay: 0.005, blocks }),
    ],
  ];

  it.each(cases)('%s: 3 steps bit-identical to the composed ops on wasm', async (_, make) => {
    const want = await steps('wasm', make, false);
    const got = await steps('wasm', make);
    expect(want.kernels).not.toContain(MOMENTUM_STEP);
    expect(got.kernels.filter((k) => k === MOMENTUM_STEP)).toHaveLength(3 * SHAPES.length);
    // The composed ops: 3 Multiply per variable over its weights (ScaleAmendedSGD multiplies scalars too).
    expect(got.kernels.filter((k) => k.startsWith('Multiply') && k !== 'Multiply 1')).toEqual([]);
    expect(want.kernels.filter((k) => k.startsWith('Multiply') && k !== 'Multiply 1')).toHaveLength(9 * 3);
    expectSameBits(got.weights, want.weights, 'weight');
    expectSameBits(got.buffers, want.buffers, 'buffer');
  });

  // MomentumSGD's update has no reduction, so the cpu backend (an independent implementation of the
  // element-wise ops) must agree bit for bit too; ScaleAmendedSGD's scales come from sums, which the two
  // backends add in different orders.
  it.each(cases.slice(0, 2))('%s: also bit-identical to the cpu backend', async (_, make) => {
    const want = await steps('cpu', make);
    const got = await steps('wasm', make);
    expectSameBits(got.weights, want.weights, 'weight');
  });

  it('bad inputs name the kernel and the input', async () => {
    await tf.setBackend('wasm');
    const t = tf.zeros([2, 3]);
    const s = tf.scalar(1);
    const run = (inputs: Record<string, tf.Tensor>) =>
      tf
        .engine()
        .runKernel(MOMENTUM_STEP, inputs as tf.NamedTensorMap, { weightDecay: true, nesterov: false });
    expect(() =>
      run({ variable: t, gradient: tf.zeros([3, 2]), u: t, wd: s, decay: s, rate: s, mu: s }),
    ).toThrow(/BmpSgdMomentumStep \(@bmp\/backends\): gradient must be float32 \[2,3\], got float32 \[3,2\]/);
    expect(() =>
      run({ variable: t, gradient: t, u: t, wd: s, decay: tf.zeros([2]), rate: s, mu: s }),
    ).toThrow(/decay must be a float32 scalar, got float32 \[2\]/);
    tf.dispose([t, s]);
  });
});
