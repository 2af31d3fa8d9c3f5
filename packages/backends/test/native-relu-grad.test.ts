// BmpReluGrad on wasm and the Relu gradient that runs it: the same bits as tfjs' own Relu gradient,
// mul(dy, step(x)), computed by the cpu backend (x * 1, x * 0 and x * NaN are exact, so any difference is
// a bug), including x = 0, -0 and NaN; the stock formula on backends without the kernel.
// Without the addon built these tests are skipped (reason printed) unless BMP_REQUIRE_NATIVE=1.
import { randomArray, tf } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, RELU_GRAD } from '../src';
import { loadNative } from '../src/internals';

const REQUIRED = process.env.BMP_REQUIRE_NATIVE === '1';
const probe = await loadNative();
if (probe.kernels == null) {
  console.warn(`[@bmp/backends native-relu-grad tests] ${REQUIRED ? 'FAILING' : 'skipped'}: ${probe.reason}`);
}
const describeNative = probe.kernels != null || REQUIRED ? describe : describe.skip;

/** d/dx sum(relu(x) * c) on `backend`, with the kernels that ran. */
async function reluGradient(backend: 'cpu' | 'wasm', x: Float32Array, c: Float32Array, shape: number[]) {
  await tf.setBackend(backend);
  let dx: Float32Array | undefined;
  const profile = await tf.profile(() => {
    dx = tf.tidy(() => {
      const cv = tf.tensor(c, shape);
      return tf
        .grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), cv)) as tf.Scalar)(tf.tensor(x, shape))
        .dataSync();
    }) as Float32Array;
  });
  return { dx: dx!, kernels: profile.kernelNames };
}

describeNative('BmpReluGrad on wasm', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu', trainingKernels: false });
    const wasm = await initBackend({ prefer: 'wasm' });
    expect(wasm.native, wasm.nativeNote).toBeDefined();
  });

  it('is registered on wasm only', () => {
    expect(tf.getKernel(RELU_GRAD, 'wasm')).toBeDefined();
    expect(tf.getKernel(RELU_GRAD, 'cpu')).toBeUndefined();
  });

  it.each([[[64, 8, 8, 16]], [[5, 7]], [[3]]])(
    '%j: bit-identical to the cpu backend, in one kernel',
    async (shape) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from(randomArray(n, n + 1));
      x[0] = 0;
      if (n > 2) x[1] = -0;
      const c = Float32Array.from(randomArray(n, n + 2));
      const want = await reluGradient('cpu', x, c, shape);
      const got = await reluGradient('wasm', x, c, shape);
      expect(want.kernels).toContain('Step'); // cpu: tfjs' formula
      expect(got.kernels).toContain(RELU_GRAD);
      expect(got.kernels).not.toContain('Step');
      expect(new Uint32Array(got.dx.buffer)).toEqual(new Uint32Array(want.dx.buffer));
    },
  );

  it('NaN in x gives NaN, as tfjs does', async () => {
    const x = Float32Array.of(Number.NaN, 1, -1);
    const c = Float32Array.of(1, 2, 3);
    const want = await reluGradient('cpu', x, c, [3]);
    const got = await reluGradient('wasm', x, c, [3]);
    expect(Array.from(got.dx)).toEqual([Number.NaN, 2, 0]);
    expect(Array.from(got.dx)).toEqual(Array.from(want.dx));
  });

  it('bad inputs name the kernel', async () => {
    await tf.setBackend('wasm');
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([3, 2]);
    expect(() => tf.engine().runKernel(RELU_GRAD, { dy: a, x: b })).toThrow(
      /BmpReluGrad \(@bmp\/backends\): dy and x must be float32 tensors of one shape, got dy float32 \[2,3\], x float32 \[3,2\]/,
    );
    tf.dispose([a, b]);
  });
});

describeNative('second derivatives through the Relu gradient', () => {
  it('a Hessian-vector product of a ReLU net on wasm (native) equals the cpu backend (tfjs formula), 1e-5', async () => {
    // f(w) = sum(relu(A w)^2 * c): H v = 2 A^T diag(step(A w) * c) A v, here through tf.grad of tf.grad.
    const a = randomArray(6 * 4, 51);
    const w0 = randomArray(4, 52);
    const v0 = randomArray(4, 53);
    const c0 = randomArray(6, 54);
    const hvp = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const A = tf.tensor2d(a, [6, 4]);
        const c = tf.tensor1d(c0);
        const v = tf.tensor1d(v0);
        const f = (w: tf.Tensor) =>
          tf.sum(tf.mul(tf.square(tf.relu(tf.matMul(A, w.reshape([4, 1])).reshape([6]))), c));
        const gv = (w: tf.Tensor) => tf.sum(tf.mul(tf.grad(f)(w), v)) as tf.Scalar;
        return tf.grad(gv)(tf.tensor1d(w0)).dataSync() as Float32Array;
      });
    };
    const want = await hvp('cpu');
    const got = await hvp('wasm');
    const scale = Math.max(...Array.from(want, Math.abs));
    expect(scale).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!) / scale).toBeLessThanOrEqual(1e-5);
  });
});
