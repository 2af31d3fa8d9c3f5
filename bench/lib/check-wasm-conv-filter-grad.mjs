// Self-check of the Conv2D-based conv-gradient kernels (not part of the test suite):
//   node bench/lib/check-wasm-conv-filter-grad.mjs
// - Conv2DBackpropFilter (bench/lib/wasm-conv-filter-grad.mjs: wasm lacks one; on cpu it replaces a
//   slow stock kernel) and the Conv2D-based wasm Conv2DBackpropInput (bench/lib/wasm-conv-input-grad.mjs)
//   against the cpu backend's stock kernels on the same random inputs:
//   max |ours - stock cpu| / max |stock cpu| <= 1e-4, for a few shapes, strides and paddings;
// - the filter gradient through tf.grad, as training uses it;
// - unsupported configurations throw a clear error;
// - repeated calls neither leak tensors nor grow the wasm heap.
import { tf, useBackend } from './tf.mjs';
import { setCpuFilterGradMode } from './wasm-conv-filter-grad.mjs';
import { setWasmInputGradMode } from './wasm-conv-input-grad.mjs';

const TOLERANCE = 1e-4;

// [N, H, W, Ci], [kh, kw, Ci, Co], strides, pad
const CASES = [
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [4, 16, 16, 8], f: [3, 3, 8, 16], strides: 1, pad: 'same' },
  { x: [64, 32, 32, 3], f: [3, 3, 3, 16], strides: 1, pad: 'same' }, // paper VGG13 w0.25, first block
  { x: [64, 4, 4, 64], f: [3, 3, 64, 128], strides: 1, pad: 'same' },
  { x: [3, 7, 9, 5], f: [3, 3, 5, 6], strides: 1, pad: 'valid' },
  { x: [2, 9, 7, 4], f: [3, 3, 4, 5], strides: 2, pad: 'same' },
  { x: [2, 10, 10, 4], f: [3, 3, 4, 5], strides: 2, pad: 'valid' }, // last input row/column unused
  { x: [2, 11, 12, 3], f: [5, 3, 3, 4], strides: [3, 2], pad: 'same' },
  { x: [1, 6, 6, 2], f: [1, 1, 2, 3], strides: 1, pad: 'valid' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: 1, pad: 1 },
  { x: [2, 8, 9, 3], f: [4, 2, 3, 4], strides: 1, pad: 'same' }, // even kernel: asymmetric 'same' padding
];

// tfjs-core does not export the two backprop ops at top level; run the kernels as conv2d's gradient does.
function filterGrad(x, dy, filterShape, strides, pad, dataFormat = 'NHWC') {
  return tf
    .engine()
    .runKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { strides, pad, dataFormat, dimRoundingMode: undefined, filterShape },
    );
}

function inputGrad(dy, filter, inputShape, strides, pad) {
  return tf
    .engine()
    .runKernel(
      'Conv2DBackpropInput',
      { dy, filter },
      { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape },
    );
}

function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const rand = seeded(42);
const size = (shape) => shape.reduce((a, b) => a * b, 1);
function randomArray(shape) {
  const a = new Float32Array(size(shape));
  for (let i = 0; i < a.length; i++) a[i] = rand();
  return a;
}

function relError(actual, expected) {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxDiff / maxRef;
}

let failures = 0;
function report(ok, message) {
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${message}`);
}

async function onBackend(backend, fn) {
  await useBackend(backend);
  return tf.tidy(() => fn().dataSync());
}

/** The reference: the cpu backend with its stock kernels. */
async function stockCpu(fn) {
  setCpuFilterGradMode('stock');
  try {
    return await onBackend('cpu', fn);
  } finally {
    setCpuFilterGradMode('conv2d');
  }
}

for (const c of CASES) {
  await useBackend('cpu');
  const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x), tf.zeros(c.f), c.strides, c.pad).shape);
  const xValues = randomArray(c.x);
  const dyValues = randomArray(dyShape);
  const fValues = randomArray(c.f);
  const what = `x [${c.x}] filter [${c.f}] strides ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}`;

  const dW = () =>
    filterGrad(tf.tensor4d(xValues, c.x), tf.tensor4d(dyValues, dyShape), c.f, c.strides, c.pad);
  const dwRef = await stockCpu(dW);
  const dwRel = relError(await onBackend('wasm', dW), dwRef);
  report(dwRel <= TOLERANCE, `wasm filter grad ${what}: max rel error ${dwRel.toExponential(2)}`);
  const dwCpuRel = relError(await onBackend('cpu', dW), dwRef);
  report(dwCpuRel <= TOLERANCE, `cpu  filter grad ${what}: max rel error ${dwCpuRel.toExponential(2)}`);

  const dX = () =>
    inputGrad(tf.tensor4d(dyValues, dyShape), tf.tensor4d(fValues, c.f), c.x, c.strides, c.pad);
  const dxRel = relError(await onBackend('wasm', dX), await stockCpu(dX));
  report(dxRel <= TOLERANCE, `wasm input grad  ${what}: max rel error ${dxRel.toExponential(2)}`);
}

// Through tf.grad, as training uses it (Conv2D's gradient calls both kernels).
{
  const xShape = [4, 12, 12, 6];
  const fShape = [3, 3, 6, 8];
  const xValues = randomArray(xShape);
  const wValues = randomArray(fShape);
  const grads = {};
  for (const backend of ['cpu', 'wasm']) {
    await useBackend(backend);
    setCpuFilterGradMode('stock');
    grads[backend] = tf.tidy(() => {
      const loss = (x, w) => tf.sum(tf.square(tf.conv2d(x, w, 1, 'same')));
      const [dx, dw] = tf.grads(loss)([tf.tensor4d(xValues, xShape), tf.tensor4d(wValues, fShape)]);
      return [dx.dataSync(), dw.dataSync()];
    });
    setCpuFilterGradMode('conv2d');
  }
  const dxRel = relError(grads.wasm[0], grads.cpu[0]);
  const dwRel = relError(grads.wasm[1], grads.cpu[1]);
  report(
    dxRel <= TOLERANCE && dwRel <= TOLERANCE,
    `wasm tf.grads of sum(conv2d(x, w)^2) vs stock cpu: max rel error dx ${dxRel.toExponential(2)}, dw ${dwRel.toExponential(2)}`,
  );
}

// Unsupported configurations throw a clear error.
await useBackend('wasm');
try {
  tf.tidy(() => filterGrad(tf.zeros([1, 3, 4, 4]), tf.zeros([1, 3, 4, 4]), [3, 3, 3, 3], 1, 'same', 'NCHW'));
  report(false, 'filter grad with NCHW did not throw');
} catch (e) {
  report(/unsupported dataFormat/.test(e.message), `filter grad with NCHW throws: ${e.message}`);
}

// No leak: tensors and the wasm heap are flat over repeated calls (the heap only grows; leaked XNNPACK
// operators with their packed filters, or leaked buffers, would grow it).
{
  const heap = () => tf.backend().wasm.HEAPU8.buffer.byteLength;
  const x = tf.randomNormal([32, 16, 16, 16]);
  const dy = tf.randomNormal([32, 16, 16, 32]);
  const w = tf.randomNormal([3, 3, 16, 32]);
  const run = () => tf.dispose([filterGrad(x, dy, w.shape, 1, 'same'), inputGrad(dy, w, x.shape, 1, 'same')]);
  for (let i = 0; i < 3; i++) run();
  const before = { ...tf.memory(), heap: heap() };
  for (let i = 0; i < 100; i++) run();
  const after = { ...tf.memory(), heap: heap() };
  report(
    after.numTensors === before.numTensors &&
      after.numBytes === before.numBytes &&
      after.heap === before.heap,
    `100 calls of each: numTensors ${before.numTensors} -> ${after.numTensors}, ` +
      `numBytes ${before.numBytes} -> ${after.numBytes}, wasm heap ${before.heap} -> ${after.heap}`,
  );

  // Speed, for the record: the Conv2D-based input gradient against the stock wasm kernel.
  const time = (fn, n = 10) => {
    fn();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (performance.now() - t0) / n;
  };
  const input = () => tf.dispose(inputGrad(dy, w, x.shape, 1, 'same'));
  const conv2dMs = time(input);
  setWasmInputGradMode('stock');
  const stockMs = time(input);
  setWasmInputGradMode('conv2d');
  const filterMs = time(() => tf.dispose(filterGrad(x, dy, w.shape, 1, 'same')));
  console.log(
    `     x [${x.shape}] filter [${w.shape}]: input grad ${conv2dMs.toFixed(2)} ms (stock wasm kernel ` +
      `${stockMs.toFixed(2)} ms), filter grad ${filterMs.toFixed(2)} ms`,
  );
  tf.dispose([x, dy, w]);
}

if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
