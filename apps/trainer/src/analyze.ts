/**
 * `bmp-train analyze <run-dir>`: the local Hessians (paper section 3) of a checkpoint of a run, block by
 * block, on one batch of the run's own training data, written as `analysis.json` (schema of `@bmp/runlog`,
 * read by the viewer). Per block: spectra of H_z and H_W (every eigenvalue when the dimension is at most
 * `maxDenseDim`, extreme Ritz values by Lanczos otherwise), condition numbers with an explicit rank
 * tolerance, the Marchenko-Pastur law (eq. 10-11, 19) against the weight layer's H_z of dense blocks, and
 * eq. (24)'s m_{b,W}, m_{b,z} against trace/dim of the local Hessians.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  blockChain,
  type ChainBlock,
  forwardChain,
  type LocalHessianOperator,
  localHessianOperator,
  operatorTrace,
  runPaperClaims,
  softmaxCrossEntropy,
} from '@bmp/backmatching';
import { blockScalars } from '@bmp/hessian';
import {
  ANALYSIS_SCHEMA_VERSION,
  type AnalysisReport,
  analysisReportSchema,
  type BlockAnalysis,
  type ClaimCheck,
  type Spectrum,
  writeJsonAtomic,
} from '@bmp/runlog/node';
import {
  conditionFromEigenvalues,
  countingOperator,
  ksDistance,
  lanczos,
  marchenkoPastur,
  operatorToMatrix,
  symmetricEigenvalues,
} from '@bmp/spectra';
import { ANALYZE_DEFAULTS } from './analyze-defaults';
import { latestCheckpoint, readCheckpoint } from './checkpoint';
import { type BackendChoice, type TrainSettings, UsageError } from './config';
import { imageDatasetSource, loadData, normalizationOf } from './data';
import { setupBackend, versions } from './environment';
import { buildModel, stripModelPrefix } from './model';
import { readJson } from './runlog';
import { tf } from './tf';
import { ensureWritableFile } from './writable';

export interface AnalyzeOptions {
  /** The run directory (config.json, checkpoints/). */
  runDir: string;
  /** A checkpoint directory (default: the run's latest, checkpoints/latest.json). */
  checkpoint?: string;
  /** Output file (default `<runDir>/analysis.json`). */
  out?: string;
  /** Images in the analysed batch (default 16). */
  batchSize?: number;
  /** Picks the batch (first batch of a shuffle with this seed) and seeds Lanczos / Hutchinson (default 0). */
  seed?: number;
  /** Full eigendecomposition up to this dimension, Lanczos above (default 1024). */
  maxDenseDim?: number;
  /** Lanczos: extreme eigenvalues wanted at each end (default 3) and most products (default 80). */
  lanczosK?: number;
  lanczosSteps?: number;
  /** Hutchinson probes for trace/dim above maxDenseDim (default 16). */
  traceProbes?: number;
  /** Restrict to these blocks (names as in config.json `model.blocks`). */
  blocks?: string[];
  /** Run `runPaperClaims` of @bmp/backmatching (default true). */
  claims?: boolean;
  /** Backend (default auto: wasm where tfjs-node is absent; the forward pass is checked against the model). */
  backend?: BackendChoice;
  onProgress?: (e: AnalyzeProgress) => void;
}

export type AnalyzeProgress =
  | {
      type: 'start';
      runDir: string;
      checkpoint: string;
      blocks: string[];
      batchSize: number;
      backend: string;
    }
  | { type: 'block'; index: number; count: number; name: string; seconds: number; summary: string }
  | { type: 'claims'; text: string }
  | { type: 'done'; out: string; seconds: number };

/** float32 products: eigenvalues below dim * eps32 * |lambda|max are rounding, not rank (numpy's rule). */
const EPS32 = 2 ** -23;
const HISTOGRAM_BINS = 30;

function histogram(values: Float64Array, bins = HISTOGRAM_BINS): { edges: number[]; counts: number[] } {
  const lo = values[0];
  const hi = values[values.length - 1];
  const width = hi > lo ? (hi - lo) / bins : 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  return { edges, counts };
}

/** Full spectrum of an explicit symmetric matrix (float32 products, float64 eigensolver). */
function denseSpectrum(
  matrix: string,
  dim: number,
  data: Float64Array,
  float32: boolean,
): { spectrum: Spectrum; eigenvalues: Float64Array; trace: number } {
  // float32 autodiff products are symmetric to ~1e-7 relative; symmetricEigenvalues checks and symmetrises
  const eigenvalues = symmetricEigenvalues({ dim, data }, { symmetryTolerance: float32 ? 1e-4 : 1e-10 });
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += data[i * dim + i];
  const top = Math.max(Math.abs(eigenvalues[0]), Math.abs(eigenvalues[dim - 1]));
  const rankTolerance = dim * (float32 ? EPS32 : Number.EPSILON) * top;
  const c = conditionFromEigenvalues(eigenvalues, { rankTolerance });
  return {
    eigenvalues,
    trace,
    spectrum: {
      matrix,
      dimension: dim,
      eigenvalues: {
        min: eigenvalues[0],
        max: eigenvalues[dim - 1],
        count: dim,
        method: 'dense',
        histogram: histogram(eigenvalues),
        eigenvalues: Array.from(eigenvalues),
      },
      condition: {
        value: Number.isFinite(c.condition) ? c.condition : 0,
        rankTolerance: c.rankTolerance,
        rank: c.rank,
        sigmaMax: c.sigmaMax,
        ...(Number.isFinite(c.sigmaMin) ? { sigmaMin: c.sigmaMin } : {}),
        ...(c.rank === 0 ? { note: 'every eigenvalue is within the tolerance of 0' } : {}),
      },
    },
  };
}

/** Extreme eigenvalues by Lanczos; the condition number over the Ritz values found (see the notes). */
function lanczosSpectrum(
  matrix: string,
  op: LocalHessianOperator,
  k: number,
  maxSteps: number,
  seed: number,
): Spectrum {
  const counted = countingOperator(op);
  const r = lanczos(counted, { k, which: 'both', tol: 1e-5, maxSteps, seed });
  const values = r.values;
  const top = Math.max(...Array.from(values, Math.abs));
  const rankTolerance = op.dim * EPS32 * top;
  // Only the smallest-end Ritz values say anything about lambda_min (they converge to the smallest
  // eigenvalues from above); the largest-end ones must not stand in for it.
  const smallest = Array.from(values.subarray(0, Math.min(k, values.length)));
  const zeros = smallest.filter((v) => Math.abs(v) <= rankTolerance).length;
  const above = smallest.filter((v) => Math.abs(v) > rankTolerance);
  const sigmaMax = top;
  const sigmaMin = above.length > 0 ? Math.min(...above.map(Math.abs)) : Number.NaN;
  // Every eigenvalue counted as non-zero exceeds the tolerance: when the k smallest Ritz values are all
  // at or below it, C <= lambda_max / tolerance is what is known.
  const resolved = Number.isFinite(sigmaMin);
  return {
    matrix,
    dimension: op.dim,
    eigenvalues: {
      min: values[0],
      max: values[values.length - 1],
      count: values.length,
      method: 'lanczos',
      eigenvalues: Array.from(values),
      matVecs: counted.count,
      residuals: Array.from(r.residuals),
      converged: r.converged,
      steps: r.steps,
    },
    condition: {
      value: resolved ? sigmaMax / sigmaMin : top > 0 ? sigmaMax / rankTolerance : 0,
      ...(resolved ? {} : { valueIsUpperBound: true }),
      rankTolerance,
      // Matrix-free: with a Ritz value at or below the tolerance the matrix is singular (rank <= dim - 1);
      // sigmaMin is the smallest small-end Ritz value above it (the smallest non-zero eigenvalue once
      // Lanczos has converged), absent when none is.
      rank: zeros > 0 ? op.dim - 1 : op.dim,
      rankIsUpperBound: zeros > 0,
      sigmaMax,
      ...(Number.isFinite(sigmaMin) ? { sigmaMin } : {}),
      converged: r.converged,
    },
  };
}

function spectrumOf(
  matrix: string,
  op: LocalHessianOperator,
  o: Required<Pick<AnalyzeOptions, 'maxDenseDim' | 'lanczosK' | 'lanczosSteps' | 'traceProbes' | 'seed'>>,
): { spectrum: Spectrum; trace: number; traceMethod: 'exact' | 'hutchinson'; probes?: number } {
  if (op.dim <= o.maxDenseDim) {
    const m = operatorToMatrix(op);
    const d = denseSpectrum(matrix, m.dim, m.data, true);
    return { spectrum: d.spectrum, trace: d.trace, traceMethod: 'exact' };
  }
  const spectrum = lanczosSpectrum(matrix, op, o.lanczosK, o.lanczosSteps, o.seed);
  const t = operatorTrace(op, { exactMaxDim: 0, probes: o.traceProbes, seed: o.seed });
  return {
    spectrum: { ...spectrum, trace: { value: t.trace, method: t.method, standardError: t.standardError } },
    trace: t.trace,
    traceMethod: 'hutchinson',
    probes: o.traceProbes,
  };
}

/**
 * The Marchenko-Pastur comparison of a dense block (eq. 10-11; eq. 19 with BN) on the per-sample H_z of its
 * weight layer (the block cut after its BN, ReLU dropped: the matrix the law describes), in float64 from
 * the kernel K [nIn, nOut] and the batch z [m, nIn]:
 *   no BN: H = K K^T (eq. 8), sigma2 = n_b * mean(K_ij^2) = tr(H) / n_{b-1} ('weights');
 *   BN:    H = sum_i w_i w_i^T / (Var_i + eps) (eq. 17, Var_i the batch variance of z w_i), sigma2 = c (eq. 19, 'bn').
 */
function marchenkoPasturSpectrum(block: ChainBlock, z: tf.Tensor): Spectrum {
  const kernel = block.weights[0];
  const [nIn, nOut] = kernel.shape as [number, number];
  const K = Float64Array.from(kernel.dataSync());
  const weight = new Float64Array(nOut).fill(1);
  let epsilon = 0;
  if (block.batchNorm) {
    const bn = block.ops.find((o) => o.op === 'batchNorm') as { epsilon?: number } | undefined;
    epsilon = bn?.epsilon ?? 0;
    const m = z.shape[0];
    const zz = tf.reshape(z, [m, nIn]);
    const Z = zz.dataSync();
    zz.dispose();
    for (let i = 0; i < nOut; i++) {
      let s = 0;
      let s2 = 0;
      for (let n = 0; n < m; n++) {
        let y = 0;
        for (let j = 0; j < nIn; j++) y += Z[n * nIn + j] * K[j * nOut + i];
        s += y;
        s2 += y * y;
      }
      const mean = s / m;
      weight[i] = 1 / (s2 / m - mean * mean + epsilon);
    }
  }
  const H = new Float64Array(nIn * nIn);
  for (let a = 0; a < nIn; a++) {
    for (let b = a; b < nIn; b++) {
      let s = 0;
      for (let i = 0; i < nOut; i++) s += K[a * nOut + i] * weight[i] * K[b * nOut + i];
      H[a * nIn + b] = s;
      H[b * nIn + a] = s;
    }
  }
  const d = denseSpectrum(block.batchNorm ? 'Hz-weight-layer-eq17' : 'Hz-weight-layer-eq8', nIn, H, false);
  const c = nOut / nIn;
  const sigma2 = block.batchNorm ? c : d.trace / nIn;
  const law = marchenkoPastur({ c, sigma2 });
  const top = Math.max(Math.abs(d.eigenvalues[0]), Math.abs(d.eigenvalues[nIn - 1]));
  const ks = ksDistance(d.eigenvalues, law, { zeroTolerance: nIn * 1e-12 * top });
  // With BN the law has no free scale; the mean-matched fit shows how much of the KS distance is scale.
  const fitted = block.batchNorm
    ? (() => {
        const s2 = d.trace / nIn;
        return {
          sigma2: s2,
          ksDistance: ksDistance(d.eigenvalues, marchenkoPastur({ c, sigma2: s2 })).distance,
        };
      })()
    : undefined;
  return {
    ...d.spectrum,
    marchenkoPastur: {
      c,
      sigma2,
      sigma2Method: block.batchNorm
        ? 'bn: eq. 19, sigma2 = c = n_b / n_{b-1} (BN removes the weight scale)'
        : 'weights: sigma2 = n_b * mean of the squared kernel entries = trace(K K^T) / n_{b-1} (eq. 10 convention: entries of variance sigma2 / n_b)',
      lower: law.lower,
      upper: law.upper,
      atomAtZero: law.atomAtZero,
      ksDistance: ks.distance,
      ...(fitted ? { meanMatched: fitted } : {}),
    },
    perSample: true,
    note: 'per-sample H_z of the weight layer (block cut after its BN; ReLU and pooling dropped), float64 closed form',
  };
}

function blockDims(block: ChainBlock, m: number): Record<string, number> {
  const w = block.weights[0].shape as number[];
  if (block.kind === 'dense') return { nIn: w[0], nOut: w[1], batch: m };
  if (block.kind === 'conv2d') {
    const [h, wd] = block.inputShape;
    return { kh: w[0], kw: w[1], cIn: w[2], cOut: w[3], hIn: h, wIn: wd, batch: m };
  }
  return { parameters: block.weights.reduce((s, v) => s + v.size, 0), batch: m };
}

export class AnalyzeError extends Error {
  override name = 'AnalyzeError';
}

/** Runs the analysis and writes the report (validated, atomically). Returns it with the output path. */
export async function analyze(options: AnalyzeOptions): Promise<{ report: AnalysisReport; out: string }> {
  const started = Date.now();
  const runDir = resolve(options.runDir);
  const configFile = join(runDir, 'config.json');
  if (!existsSync(configFile))
    throw new UsageError(`analyze ${options.runDir}: no config.json there (not a run directory)`);
  // checked before the computation, which can take minutes
  const out = options.out ? resolve(options.out) : join(runDir, 'analysis.json');
  await ensureWritableFile(out, options.out ? '--out' : 'analyze: the report');
  const config = await readJson<{
    runName: string;
    settings: TrainSettings;
    optimizer: string;
    compareId: string | null;
  }>(configFile);
  const settings = config.settings;
  if (settings == null || typeof settings.model !== 'string')
    throw new AnalyzeError(`${configFile}: no settings (written by another program?)`);

  let checkpointDir: string;
  if (options.checkpoint) {
    checkpointDir = isAbsolute(options.checkpoint) ? options.checkpoint : resolve(options.checkpoint);
    if (!existsSync(join(checkpointDir, 'model.safetensors')))
      throw new UsageError(
        `--checkpoint ${options.checkpoint}: no model.safetensors there (not a checkpoint)`,
      );
  } else {
    const latest = await latestCheckpoint(runDir);
    if (latest == null)
      throw new AnalyzeError(
        `${runDir}: no checkpoint in checkpoints/: nothing to analyse; train the run first (or --resume it)`,
      );
    checkpointDir = latest;
  }
  let checkpoint: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    checkpoint = await readCheckpoint(checkpointDir);
  } catch (e) {
    throw new AnalyzeError(`checkpoint ${checkpointDir} is unreadable: ${(e as Error).message}`);
  }

  const o = {
    maxDenseDim: options.maxDenseDim ?? ANALYZE_DEFAULTS.maxDenseDim,
    lanczosK: options.lanczosK ?? ANALYZE_DEFAULTS.lanczosK,
    lanczosSteps: options.lanczosSteps ?? ANALYZE_DEFAULTS.lanczosSteps,
    traceProbes: options.traceProbes ?? ANALYZE_DEFAULTS.traceProbes,
    seed: options.seed ?? ANALYZE_DEFAULTS.seed,
  };
  const batchSize = options.batchSize ?? ANALYZE_DEFAULTS.batchSize;
  // The check below compares the chain's forward pass with the model's logits: it caught a wasm bug
  // (oneHot ignoring its dtype zeroed maxPool2x2, fixed in @bmp/backmatching) and guards against others.
  const { backend } = await setupBackend(options.backend ?? 'auto');
  const data = await loadData(settings);
  const numClasses = data.train.classNames.length;
  const normalize = normalizationOf(data.train);
  const before = tf.memory().numTensors;
  const network = buildModel(settings, data.train.shape, numClasses);
  const blocks: BlockAnalysis[] = [];
  let x: tf.Tensor | null = null;
  let labels: tf.Tensor | null = null;
  let zs: tf.Tensor[] = [];
  try {
    try {
      network.loadBytes(checkpoint.modelBytes, join(checkpointDir, 'model.safetensors'));
    } catch (e) {
      throw new AnalyzeError(
        `checkpoint ${checkpointDir} does not fit the run's model: ${(e as Error).message}`,
      );
    }
    const chain = blockChain(network);
    const names = chain.blocks.map((b) => stripModelPrefix(b.name, network.name));
    let chosen = chain.blocks.map((_, i) => i);
    if (options.blocks && options.blocks.length > 0) {
      const unknown = options.blocks.filter(
        (n) => !names.includes(n) && !chain.blocks.some((b) => b.name === n),
      );
      if (unknown.length > 0)
        throw new UsageError(
          `--blocks: unknown block ${unknown.map((n) => `'${n}'`).join(', ')}; the blocks are ${names.join(', ')}`,
        );
      chosen = chosen.filter(
        (i) => options.blocks!.includes(names[i]) || options.blocks!.includes(chain.blocks[i].name),
      );
    }
    // One batch of the run's own training data: the first batch of a shuffle seeded by --seed, normalised like training.
    const source = imageDatasetSource(data.train, { batchSize, seed: o.seed, shuffle: true, normalize });
    for await (const b of source.batches(0, 0)) {
      x = b.xs;
      labels = tf.tidy(() => tf.cast(tf.oneHot(tf.cast(b.ys, 'int32'), numClasses), 'float32'));
      b.ys.dispose();
      break;
    }
    if (x == null || labels == null) throw new AnalyzeError('the training data gave no batch');
    const m = x.shape[0];
    options.onProgress?.({
      type: 'start',
      runDir,
      checkpoint: checkpointDir,
      blocks: chosen.map((i) => names[i]),
      batchSize: m,
      backend,
    });
    const y = labels;
    const top = (logits: tf.Tensor) => softmaxCrossEntropy(y, logits);
    zs = forwardChain(chain, x);
    // The chain re-implements the forward pass with twice-differentiable ops: check it against the
    // model's own (training-mode BN) before trusting any Hessian built on it.
    const gap = tf.tidy(() => {
      const logits = network.apply(x!, { training: true });
      const scale = tf.max(tf.abs(logits)).dataSync()[0];
      return tf.max(tf.abs(tf.sub(logits, zs[zs.length - 1]))).dataSync()[0] / Math.max(scale, 1e-12);
    });
    if (!(gap < 1e-3))
      throw new AnalyzeError(
        `the block chain's forward pass disagrees with the model on the ${backend} backend (max relative logit difference ${gap}); try --backend cpu`,
      );
    const B = chain.blocks.length;
    for (const [k, b] of chosen.entries()) {
      const t0 = Date.now();
      const block = chain.blocks[b];
      const isTop = b === B - 1;
      const objective = isTop ? { top } : undefined;
      const spectra: Spectrum[] = [];
      const traces: Record<'z' | 'W', ReturnType<typeof spectrumOf>> = {} as never;
      for (const wrt of ['z', 'W'] as const) {
        const op = localHessianOperator({ block, z: zs[b], objective, wrt, form: 'gauss-newton' });
        const s = spectrumOf(wrt === 'z' ? 'Hz' : 'HW', op, o);
        traces[wrt] = s;
        spectra.push(s.spectrum);
      }
      if (
        block.kind === 'dense' &&
        block.ops[0]?.op === 'dense' &&
        block.weights[0].shape[0] <= o.maxDenseDim
      )
        spectra.push(marchenkoPasturSpectrum(block, zs[b]));
      let eq24: BlockAnalysis['eq24'];
      if (block.descriptor) {
        const sc = blockScalars(block.descriptor, { positionScaling: settings.positionScaling });
        const dimW = spectra[1].dimension;
        const dimZ = spectra[0].dimension;
        // Same normalisation as compareWithScalars: trace(H_W)/dim, and m * trace(H_z)/dim (per-sample H_z).
        const exactW = traces.W.trace / dimW;
        const exactZ = (m * traces.z.trace) / dimZ;
        const estimated = traces.W.traceMethod === 'hutchinson' || traces.z.traceMethod === 'hutchinson';
        eq24 = {
          mW: sc.mW,
          mZ: sc.mZ,
          exactW,
          exactZ,
          traceMethod: estimated ? 'hutchinson' : 'exact',
          traceMethods: { W: traces.W.traceMethod, z: traces.z.traceMethod },
          ...(estimated ? { probes: o.traceProbes } : {}),
          ratioW: exactW / sc.mW,
          ratioZ: exactZ / sc.mZ,
        };
      }
      blocks.push({
        name: names[b],
        kind: block.kind,
        dims: blockDims(block, m),
        batchNorm: block.batchNorm,
        relu: block.relu,
        maxPool: block.maxPool,
        top: isTop,
        hessianForm: 'gauss-newton at zero residual (the training loss at the top)',
        spectra,
        ...(eq24 ? { eq24 } : {}),
      });
      const fmt = (s: Spectrum) =>
        `${s.matrix} ${s.dimension} (${s.eigenvalues.method}${s.eigenvalues.matVecs ? `, ${s.eigenvalues.matVecs} products` : ''}) ` +
        `[${s.eigenvalues.min.toPrecision(3)}, ${s.eigenvalues.max.toPrecision(3)}] C=${s.condition.value.toPrecision(3)}`;
      options.onProgress?.({
        type: 'block',
        index: k,
        count: chosen.length,
        name: names[b],
        seconds: (Date.now() - t0) / 1000,
        summary: [
          ...spectra.slice(0, 2).map(fmt),
          ...(eq24 ? [`eq24 ratioW ${eq24.ratioW?.toFixed(3)} ratioZ ${eq24.ratioZ?.toFixed(3)}`] : []),
        ].join('; '),
      });
    }
  } finally {
    tf.dispose([...zs, ...(x ? [x] : []), ...(labels ? [labels] : [])]);
    network.dispose();
  }
  const leaked = tf.memory().numTensors - before;

  let claims: ClaimCheck[] = [];
  let claimsNote: string | undefined;
  if (options.claims ?? true) {
    const checks = await runPaperClaims({
      onProgress: (name, i, n) => options.onProgress?.({ type: 'claims', text: `${i + 1}/${n} ${name}` }),
    });
    claims = checks.map((c) => ({ ...c }));
  } else claimsNote = 'skipped (--no-claims)';

  const report: AnalysisReport = {
    schemaVersion: ANALYSIS_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    // Paths relative to the report's folder and to the run, so that the report stays valid when the
    // log directory is moved or shared (absolute paths would also leak the user's home directory).
    source: {
      runDir: relative(dirname(out), runDir) || '.',
      run: config.runName,
      compareId: config.compareId,
      optimizer: config.optimizer,
      model: settings.model,
      width: settings.width,
      dataset: settings.dataset,
      checkpoint: relative(runDir, checkpointDir),
      epoch: checkpoint.state.epoch,
      batch: checkpoint.state.batch,
      step: checkpoint.state.globalStep,
      batchSize: blocks[0]?.dims.batch ?? batchSize,
      batchSeed: o.seed,
    },
    backend,
    versions: versions(),
    seed: o.seed,
    settings: {
      ...o,
      batchSize,
      histogramBins: HISTOGRAM_BINS,
      precision: 'float32 products, float64 eigensolvers',
    },
    blocks,
    claims,
    ...(claimsNote ? { claimsNote } : {}),
    ...(leaked !== 0 ? { tensorLeak: leaked } : {}),
  };
  await writeJsonAtomic(out, report, { schema: analysisReportSchema });
  options.onProgress?.({ type: 'done', out, seconds: (Date.now() - started) / 1000 });
  return { report, out };
}
