// Benchmark: spectra of local Hessians with @bmp/spectra (products by @bmp/backmatching's tfOperator)
// against ml-matrix and numpy/scipy.
//
//   pnpm bench hessian [--size 512] [--conv 8x8x72] [--repeats N] [--no-python] ...
//
// Method
// - Dense (eigenvalues only): H_z = W^T W (eq. 8) for a Gaussian W of n_b x n_{b-1} = size/2 x size with
//   entries N(0, 2/n_b) (Marchenko-Pastur c = 0.5, sigma2 = 2: the example; half the
//   eigenvalues are 0). Timed: `symmetricEigenvalues` (Householder tridiagonalisation + implicit QL,
//   eigenvalues only; default WebAssembly SIMD pass, and again with the JavaScript pass), ml-matrix's `EigenvalueDecomposition` (values and vectors: what ml-matrix offers)
//   and numpy.linalg.eigvalsh (LAPACK) through /usr/bin/python3, each on the same float64 matrix (written
//   to a temporary file for python; file I/O is not timed). Medians over repeats after one warm-up.
//   Agreement: max |difference| / ||H||_2 between each pair.
// - Lanczos: H_z = J^T J of a 3x3 stride-1 'same' conv layer (no bias) with C_in = C_out channels on an
//   H x W map (default 8x8x72 = 4608; --conv 3x3x512 for the other 4608-dimensional block), kernel
//   N(0, 2/(9 C_in)). bmp: `lanczos(tfOperator(...))`, where one product is tf.conv2d then
//   tf.conv2dTranspose (= J^T) on the chosen tfjs backend (float32), k largest eigenvalues, relative
//   residual tolerance --tol. scipy: the same kernel is exported (float32 file) and J rebuilt as a
//   scipy.sparse CSR matrix (im2col, zero padding), and scipy.sparse.linalg.eigsh(which='LA', tol) runs on
//   the LinearOperator v -> J^T (J v) in float64 (products counted). Medians over repeats after one
//   warm-up run each; the products used and the time per product are reported for both.
// - Python runs with OMP/OPENBLAS/MKL threads = --python-threads (default 1: tfjs wasm and cpu compute
//   on one thread in Node). Skipped with a note when numpy or scipy cannot be imported
//   (apt-get install -y python3-numpy python3-scipy).
// - The machine is shared: the load average before and after is in the JSON.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tfOperator } from '@bmp/backmatching';
import { gaussian, lanczos, mulberry32, symmetricEigenvalues } from '@bmp/spectra';
import { benchAnalyzeSlq } from './lib/analyze-slq.mjs';
import { machineInfo, writeResults } from './lib/results.mjs';
import { formatTable, median, round, summarize } from './lib/stats.mjs';
import { BACKENDS, packageVersion, tf, useBackend } from './lib/tf.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
// ml-matrix as @bmp/spectra resolves it (its dependency, not the root's): the version it ships with.
const require = createRequire(import.meta.url);
const mlMatrixRequire = createRequire(require.resolve('@bmp/spectra'));
const { EigenvalueDecomposition, Matrix } = mlMatrixRequire('ml-matrix');
// ml-matrix's "exports" hides package.json: read it next to the resolved entry point.
const mlMatrixVersion = JSON.parse(
  readFileSync(join(dirname(mlMatrixRequire.resolve('ml-matrix')), 'package.json'), 'utf8'),
).version;

export const description =
  'Eigenvalues of a 512x512 local Hessian (bmp fast path vs ml-matrix vs numpy.linalg.eigvalsh) and ' +
  'Lanczos extreme eigenvalues of a 4608-dimensional conv-block operator (bmp on tfjs vs scipy eigsh).';

export const options = {
  size: { type: 'string', default: '512', help: 'dimension n_{b-1} of the dense H_z = W^T W' },
  repeats: { type: 'string', default: '7', help: 'timed repeats (fast path, numpy, Lanczos, eigsh)' },
  'ml-repeats': {
    type: 'string',
    default: '3',
    help: "timed repeats of ml-matrix's decomposition (~1 s each)",
  },
  conv: { type: 'string', default: '8x8x72', help: 'conv block HxWxC (C_in = C_out); 3x3x512 also 4608-dim' },
  k: { type: 'string', default: '6', help: 'largest eigenvalues wanted from Lanczos / eigsh' },
  tol: { type: 'string', default: '1e-6', help: 'relative residual tolerance of Lanczos and eigsh' },
  backend: {
    type: 'string',
    default: 'wasm',
    help: `tfjs backend of the conv products (${BACKENDS.join(', ')})`,
  },
  python: { type: 'string', default: '/usr/bin/python3', help: 'python with numpy and scipy' },
  'python-threads': { type: 'string', default: '1', help: 'BLAS/OpenMP threads for numpy and scipy' },
  'no-python': { type: 'boolean', help: 'skip the numpy/scipy references' },
  'skip-ml': { type: 'boolean', help: "skip ml-matrix's decomposition" },
  analyze: {
    type: 'string',
    help: 'a run directory: also time bmp-train analyze of its latest checkpoint with and without the SLQ density',
  },
  'analyze-repeats': { type: 'string', default: '1', help: 'alternating repeats of each analyze variant' },
  'analyze-only': { type: 'boolean', help: 'only the analyze case (needs --analyze)' },
  'analyze-report': { type: 'string', help: 'keep the last report with SLQ at this path' },
  out: { type: 'string', help: 'JSON output path (default bench/results/hessian-<ISO time>.json)' },
};

function usageError(message) {
  return Object.assign(new Error(message), { usage: true });
}

function positiveInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usageError(`--${name} must be an integer >= 1, got '${value}'`);
  return n;
}

function time(fn) {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
}

function maxDiff(a, b, scale) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}

/** Runs bench/hessian_reference.py; returns its JSON or { skipped: reason }. */
function python(values, args) {
  const threads = String(values['python-threads']);
  const env = {
    ...process.env,
    OMP_NUM_THREADS: threads,
    OPENBLAS_NUM_THREADS: threads,
    MKL_NUM_THREADS: threads,
  };
  const r = spawnSync(values.python, [join(HERE, 'hessian_reference.py'), ...args.map(String)], {
    encoding: 'utf8',
    env,
    timeout: 600_000,
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.error != null || r.status !== 0) {
    return {
      skipped: `${values.python} failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').pop()}`,
    };
  }
  return JSON.parse(r.stdout);
}

function pythonHas(values, modules) {
  const r = spawnSync(values.python, ['-c', `import ${modules}`], { encoding: 'utf8' });
  return r.error == null && r.status === 0;
}

function denseHessian(n, seed) {
  // W: n_b x n with n_b = n / 2, entries N(0, 2 / n_b); H = W^T W, row-major.
  const nb = Math.max(1, Math.floor(n / 2));
  const g = gaussian(mulberry32(seed));
  const sd = Math.sqrt(2 / nb);
  const w = Float64Array.from({ length: nb * n }, () => sd * g());
  const h = new Float64Array(n * n);
  for (let k = 0; k < nb; k++) {
    const off = k * n;
    for (let i = 0; i < n; i++) {
      const wi = w[off + i];
      const row = i * n;
      for (let j = 0; j <= i; j++) h[row + j] += wi * w[off + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) h[j * n + i] = h[i * n + j];
  return { nb, h };
}

function benchDense(values, tmp, notes) {
  const n = positiveInt('size', values.size);
  const repeats = positiveInt('repeats', values.repeats);
  const mlRepeats = positiveInt('ml-repeats', values['ml-repeats']);
  const { nb, h } = denseHessian(n, 1);
  const input = { dim: n, data: h };
  symmetricEigenvalues(input); // warm-up (JIT)
  const fastTimes = [];
  let fast;
  for (let r = 0; r < repeats; r++) {
    const t = time(() => symmetricEigenvalues(input));
    fastTimes.push(t.ms);
    fast = t.result;
  }
  // The same path with the JavaScript pass instead of the WebAssembly SIMD one (for browsers without it).
  const jsTimes = [];
  symmetricEigenvalues(input, { kernel: 'js' });
  for (let r = 0; r < repeats; r++)
    jsTimes.push(time(() => symmetricEigenvalues(input, { kernel: 'js' })).ms);
  const norm = Math.max(Math.abs(fast[0]), Math.abs(fast[n - 1]));
  const out = {
    matrix: `H_z = W^T W, W ${nb} x ${n} with N(0, 2/${nb}) entries (Marchenko-Pastur c = ${round(nb / n)}, sigma2 = 2)`,
    n,
    fast: summarize(fastTimes),
    fastJsPass: summarize(jsTimes),
    extremes: [fast[0], fast[n - 1]],
  };
  if (!values['skip-ml']) {
    const m = new Matrix(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, h[i * n + j]);
    new EigenvalueDecomposition(m, { assumeSymmetric: true }); // warm-up
    const mlTimes = [];
    let ml;
    for (let r = 0; r < mlRepeats; r++) {
      const t = time(() => new EigenvalueDecomposition(m, { assumeSymmetric: true }));
      mlTimes.push(t.ms);
      ml = Float64Array.from(t.result.realEigenvalues).sort();
    }
    out.mlMatrix = { ...summarize(mlTimes), maxDiffOverNorm: maxDiff(fast, ml, norm) };
  }
  if (!values['no-python']) {
    if (!pythonHas(values, 'numpy')) {
      notes.push(
        `numpy.linalg.eigvalsh skipped: ${values.python} cannot import numpy (apt-get install -y python3-numpy)`,
      );
    } else {
      const file = join(tmp, 'h.f64');
      writeFileSync(file, Buffer.from(h.buffer, h.byteOffset, h.byteLength));
      const py = python(values, ['eigvalsh', file, n, repeats]);
      if (py.skipped) notes.push(`numpy.linalg.eigvalsh skipped: ${py.skipped}`);
      else {
        out.numpy = {
          ...summarize(py.timesMs),
          version: py.numpy,
          maxDiffOverNorm: maxDiff(fast, Float64Array.from(py.eigenvalues), norm),
        };
      }
    }
  }
  return out;
}

function parseConv(s) {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(s);
  if (m == null) throw usageError(`--conv must look like 8x8x72, got '${s}'`);
  return { height: Number(m[1]), width: Number(m[2]), channels: Number(m[3]) };
}

async function benchLanczos(values, tmp, notes) {
  const { height, width, channels } = parseConv(values.conv);
  const repeats = positiveInt('repeats', values.repeats);
  const k = positiveInt('k', values.k);
  const tol = Number(values.tol);
  if (!(tol > 0)) throw usageError(`--tol must be > 0, got '${values.tol}'`);
  const backendInfo = await useBackend(values.backend);
  const n = height * width * channels;
  const g = gaussian(mulberry32(2));
  const sd = Math.sqrt(2 / (9 * channels));
  const kernelValues = Float32Array.from({ length: 9 * channels * channels }, () => sd * g());
  const kernel = tf.tensor4d(kernelValues, [3, 3, channels, channels]);
  const shape = [1, height, width, channels];
  // Functional ops only: tfjs-core's chained ops (v.reshape) are not registered in plain Node.
  const product = (v) => {
    const y = tf.conv2d(tf.reshape(v, shape), kernel, 1, 'same');
    return tf.reshape(tf.conv2dTranspose(y, kernel, shape, 1, 'same'), [n]);
  };
  let productMs = 0;
  let products = 0;
  const base = tfOperator(n, product, `conv ${values.conv} J^T J`);
  const op = {
    dim: n,
    label: base.label,
    apply(v) {
      const t0 = performance.now();
      const out = base.apply(v);
      productMs += performance.now() - t0;
      products++;
      return out;
    },
  };
  const tensorsBefore = tf.memory().numTensors;
  const runOnce = () => {
    productMs = 0;
    products = 0;
    const t = time(() => lanczos(op, { k, which: 'largest', tol, seed: 0 }));
    return { ms: t.ms, productMs, products, result: t.result };
  };
  runOnce(); // warm-up
  const runs = [];
  for (let r = 0; r < repeats; r++) runs.push(runOnce());
  const last = runs[runs.length - 1].result;
  const out = {
    operator:
      `H_z = J^T J, J = conv2d 3x3 stride 1 'same', ${channels} -> ${channels} channels on ${height}x${width} ` +
      `(dim ${n}), kernel N(0, 2/(9*${channels})); product = tf.conv2d + tf.conv2dTranspose, float32`,
    dim: n,
    backend: backendInfo,
    k,
    tol,
    bmp: {
      ...summarize(runs.map((r) => r.ms)),
      matvecs: runs.map((r) => r.products),
      medianProductMs: round(median(runs.map((r) => r.productMs / r.products))),
      medianShareInProducts: round(median(runs.map((r) => r.productMs / r.ms))),
      converged: last.converged,
      values: Array.from(last.values),
      residuals: Array.from(last.residuals),
    },
    leakedTensors: tf.memory().numTensors - tensorsBefore,
  };
  kernel.dispose();
  if (!values['no-python']) {
    if (!pythonHas(values, 'numpy, scipy.sparse.linalg')) {
      notes.push(
        `scipy eigsh skipped: ${values.python} cannot import scipy (apt-get install -y python3-scipy)`,
      );
    } else {
      const file = join(tmp, 'kernel.f32');
      writeFileSync(file, Buffer.from(kernelValues.buffer));
      const py = python(values, ['eigsh', file, height, width, channels, channels, k, tol, repeats]);
      if (py.skipped) notes.push(`scipy eigsh skipped: ${py.skipped}`);
      else {
        const ref = Float64Array.from(py.eigenvalues);
        out.scipy = {
          ...summarize(py.timesMs),
          matvecs: py.matvecs,
          medianProductMs: round(py.matvecMs),
          operatorBuildMs: round(py.buildMs),
          nnzJ: py.nnz,
          values: py.eigenvalues,
          version: py.scipy,
          // Distinct-vs-repeated eigenvalues can make the two lists differ; compare the largest only too.
          maxRelDiff: maxDiff(last.values, ref, ref[ref.length - 1]),
          largestRelDiff:
            Math.abs(last.values[last.values.length - 1] - ref[ref.length - 1]) / ref[ref.length - 1],
        };
      }
    }
  }
  return out;
}

export async function run(values) {
  const notes = [];
  const tmp = mkdtempSync(join(os.tmpdir(), 'bmp-bench-hessian-'));
  const loadBefore = os.loadavg();
  let dense;
  let krylov;
  let analyze = null;
  if (values['analyze-only'] && !values.analyze) throw usageError('--analyze-only needs --analyze <run-dir>');
  try {
    if (!values['analyze-only']) {
      dense = benchDense(values, tmp, notes);
      krylov = await benchLanczos(values, tmp, notes);
    }
    if (values.analyze)
      analyze = benchAnalyzeSlq(
        values.analyze,
        positiveInt('analyze-repeats', values['analyze-repeats']),
        notes,
        values['analyze-report'] == null ? null : resolve(values['analyze-report']),
      );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const loadAfter = os.loadavg();
  if (analyze) printAnalyze(analyze);
  if (values['analyze-only']) {
    const result = {
      benchmark: 'hessian',
      machine: machineInfo(),
      loadAverageBefore: loadBefore.map((l) => round(l, 2)),
      loadAverageAfter: loadAfter.map((l) => round(l, 2)),
      analyze,
      notes,
    };
    const paths = writeResults('hessian', result, values.out == null ? undefined : resolve(values.out));
    console.log(`wrote ${paths.join(', ')}`);
    return;
  }

  const rows = [
    {
      what: `eigenvalues ${dense.n}x${dense.n}`,
      impl: 'bmp symmetricEigenvalues',
      ms: dense.fast.medianMs,
      vs: '',
    },
  ];
  rows.push({ what: '', impl: 'bmp symmetricEigenvalues, JS pass', ms: dense.fastJsPass.medianMs, vs: '' });
  if (dense.mlMatrix) {
    rows.push({
      what: '',
      impl: 'ml-matrix EigenvalueDecomposition',
      ms: dense.mlMatrix.medianMs,
      vs: `bmp ${round(dense.mlMatrix.medianMs / dense.fast.medianMs, 1)}x faster`,
    });
  }
  if (dense.numpy) {
    rows.push({
      what: '',
      impl: 'numpy.linalg.eigvalsh',
      ms: dense.numpy.medianMs,
      vs: `bmp / numpy = ${round(dense.fast.medianMs / dense.numpy.medianMs, 2)}`,
    });
  }
  rows.push({
    what: `Lanczos top ${krylov.k}, dim ${krylov.dim}`,
    impl: `bmp lanczos (tfjs ${krylov.backend.backend})`,
    ms: krylov.bmp.medianMs,
    vs: `${median(krylov.bmp.matvecs)} products, ${krylov.bmp.medianProductMs} ms each`,
  });
  if (krylov.scipy) {
    rows.push({
      what: '',
      impl: 'scipy eigsh (sparse J, float64)',
      ms: krylov.scipy.medianMs,
      vs:
        `bmp / scipy = ${round(krylov.bmp.medianMs / krylov.scipy.medianMs, 2)}; ` +
        `${median(krylov.scipy.matvecs)} products, ${krylov.scipy.medianProductMs} ms each`,
    });
  }
  console.log(
    formatTable(
      [
        { key: 'what', label: 'task', align: 'left' },
        { key: 'impl', label: 'implementation', align: 'left' },
        { key: 'ms', label: 'median ms' },
        { key: 'vs', label: 'comparison', align: 'left' },
      ],
      rows,
    ),
  );
  const agreement = [];
  if (dense.mlMatrix) agreement.push(`ml-matrix ${dense.mlMatrix.maxDiffOverNorm.toExponential(1)}`);
  if (dense.numpy) agreement.push(`numpy ${dense.numpy.maxDiffOverNorm.toExponential(1)}`);
  if (agreement.length) console.log(`dense agreement, max |diff| / ||H||: ${agreement.join(', ')}`);
  if (krylov.scipy) {
    console.log(
      `Lanczos vs eigsh: largest eigenvalue rel. diff ${krylov.scipy.largestRelDiff.toExponential(1)}, ` +
        `top-${krylov.k} max rel. diff ${krylov.scipy.maxRelDiff.toExponential(1)} (float32 products vs float64)`,
    );
  }
  for (const note of notes) console.log(`note: ${note}`);
  if (krylov.leakedTensors !== 0) console.log(`error: ${krylov.leakedTensors} tensors leaked`);

  const result = {
    benchmark: 'hessian',
    machine: {
      ...machineInfo(),
      packages: {
        ...machineInfo().packages,
        '@bmp/backmatching': packageVersion('@bmp/backmatching'),
        '@bmp/spectra': packageVersion('@bmp/spectra'),
        'ml-matrix': mlMatrixVersion,
      },
    },
    loadAverageBefore: loadBefore.map((l) => round(l, 2)),
    loadAverageAfter: loadAfter.map((l) => round(l, 2)),
    pythonThreads: Number(values['python-threads']),
    dense,
    lanczos: krylov,
    ...(analyze ? { analyze } : {}),
    notes,
  };
  const paths = writeResults('hessian', result, values.out == null ? undefined : resolve(values.out));
  console.log(`wrote ${paths.join(', ')}`);
  if (krylov.leakedTensors !== 0) process.exitCode = 1;
}

function printAnalyze(a) {
  console.log(
    formatTable(
      [
        { key: 'variant', label: `analyze ${a.runDir}`, align: 'left' },
        { key: 'wall', label: 'median wall s' },
        { key: 'cpu', label: 'median CPU s' },
        { key: 'products', label: 'products' },
      ],
      a.summary.map((s) => ({
        variant: s.variant,
        wall: s.medianWallS,
        cpu: s.medianCpuS,
        products: s.products,
      })),
    ),
  );
  console.log(`SLQ / no SLQ: wall ${a.wallRatio}x, CPU ${a.cpuRatio}x (${a.repeats} alternating repeat(s))`);
  for (const d of a.distances)
    console.log(
      `SLQ vs exact, ${d.block} ${d.matrix} (${d.dim}): KS ${round(d.ks, 3)}, W1 / range ${d.wasserstein1Relative.toExponential(1)}`,
    );
}
