/**
 * `bmp-train analyze <run-dir>`: the local Hessians (paper section 3) of a checkpoint of a run, block by
 * block, on one batch of the run's own training data, written as `analysis.json` (schema of `@bmp/runlog`,
 * read by the viewer). Per block: spectra of H_z and H_W (every eigenvalue when the dimension is at most
 * `maxDenseDim`, extreme Ritz values by Lanczos and the density by stochastic Lanczos quadrature
 * otherwise; SLQ also on the dense ones, with its distance to their exact eigenvalues), condition numbers with an explicit rank
 * tolerance, the Marchenko-Pastur law (eq. 10-11, 19) against the weight layer's H_z of dense blocks, and
 * eq. (24)'s m_{b,W}, m_{b,z} against trace/dim of the local Hessians.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { initBackend } from '@bmp/backends';
import { forwardChain, runPaperClaims, softmaxCrossEntropy } from '@bmp/backmatching';
import {
  ANALYSIS_SCHEMA_VERSION,
  type AnalysisReport,
  analysisReportSchema,
  type BlockAnalysis,
  type ClaimCheck,
  writeJsonAtomic,
} from '@bmp/runlog/node';
import { analyzeBlock } from './analyze-block';
import { ANALYZE_DEFAULTS } from './analyze-defaults';
import { type AnalyzedRun, analysisBatch, chosenBlocks, readAnalyzedRun } from './analyze-source';
import { HISTOGRAM_BINS, type SpectrumSettings } from './analyze-spectra';
import type { BackendChoice } from './config';
import { loadData } from './data';
import { setupBackend, versions } from './environment';
import { AnalyzeError, UsageError } from './errors';
import { buildModel } from './model';
import { tf } from './tf';
import { ensureWritableFile } from './writable';

export { AnalyzeError };

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
  /** Hutchinson probes for trace/dim above maxDenseDim (default 16; the first slqProbes are SLQ's). */
  traceProbes?: number;
  /** SLQ density: probes (default 3, 0 for none; the first is the extremes' Lanczos run) and steps (16). */
  slqProbes?: number;
  slqSteps?: number;
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

/** Runs the analysis and writes the report (validated, atomically). Returns it with the output path. */
export async function analyze(options: AnalyzeOptions): Promise<{ report: AnalysisReport; out: string }> {
  const started = Date.now();
  const runDir = resolve(options.runDir);
  if (!existsSync(join(runDir, 'config.json')))
    throw new UsageError(`analyze ${options.runDir}: no config.json there (not a run directory)`);
  // checked before the computation, which can take minutes
  const out = options.out ? resolve(options.out) : join(runDir, 'analysis.json');
  await ensureWritableFile(out, options.out ? '--out' : 'analyze: the report');
  const run = await readAnalyzedRun(runDir, options.checkpoint);
  const o: SpectrumSettings = {
    maxDenseDim: options.maxDenseDim ?? ANALYZE_DEFAULTS.maxDenseDim,
    lanczosK: options.lanczosK ?? ANALYZE_DEFAULTS.lanczosK,
    lanczosSteps: options.lanczosSteps ?? ANALYZE_DEFAULTS.lanczosSteps,
    traceProbes: options.traceProbes ?? ANALYZE_DEFAULTS.traceProbes,
    slqProbes: options.slqProbes ?? ANALYZE_DEFAULTS.slqProbes,
    slqSteps: options.slqSteps ?? ANALYZE_DEFAULTS.slqSteps,
    seed: options.seed ?? ANALYZE_DEFAULTS.seed,
  };
  const batchSize = options.batchSize ?? ANALYZE_DEFAULTS.batchSize;
  const { backend } = await setupBackend(options.backend ?? 'auto');
  const before = tf.memory().numTensors;
  const blocks = await analyzeBlocks(run, options, o, batchSize, backend, runDir);
  const leaked = tf.memory().numTensors - before;
  let claims: ClaimCheck[] = [];
  // The claims' checks (fixed small sizes, independent of the run) read tensors synchronously, which
  // WebGPU cannot do in Node: there they run on the cpu backend, and the report says so. The analysis
  // above reads every product back asynchronously, on every backend.
  const claimsBackend = backend === 'webgpu' ? 'cpu' : backend;
  if (options.claims ?? true) {
    const analysisBackend = tf.getBackend();
    if (claimsBackend !== backend) await initBackend({ prefer: 'cpu' });
    try {
      const checks = await runPaperClaims({
        onProgress: (name, i, n) => options.onProgress?.({ type: 'claims', text: `${i + 1}/${n} ${name}` }),
      });
      claims = checks.map((c) => ({ ...c }));
    } finally {
      if (tf.getBackend() !== analysisBackend) await tf.setBackend(analysisBackend);
    }
  }
  const { config, settings, checkpoint, checkpointDir } = run;
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
    ...((options.claims ?? true)
      ? claimsBackend !== backend
        ? {
            claimsBackend,
            claimsNote: `on the ${claimsBackend} backend: the checks read tensors synchronously, which ${backend} cannot in Node`,
          }
        : {}
      : { claimsNote: 'skipped (--no-claims)' }),
    ...(leaked !== 0 ? { tensorLeak: leaked } : {}),
  };
  await writeJsonAtomic(out, report, { schema: analysisReportSchema });
  options.onProgress?.({ type: 'done', out, seconds: (Date.now() - started) / 1000 });
  return { report, out };
}

/** Every chosen block of the run's model, on one batch of its training data. */
async function analyzeBlocks(
  run: AnalyzedRun,
  options: AnalyzeOptions,
  o: SpectrumSettings,
  batchSize: number,
  backend: string,
  runDir: string,
): Promise<BlockAnalysis[]> {
  const data = await loadData(run.settings);
  const network = buildModel(run.settings, data.train.shape, data.train.classNames.length);
  const tensors: tf.Tensor[] = [];
  try {
    const { chain, names, chosen } = chosenBlocks(network, run, options.blocks);
    const blocks = chain.blocks;
    const { x, labels } = await analysisBatch(data.train, batchSize, o.seed);
    tensors.push(x, labels);
    options.onProgress?.({
      type: 'start',
      runDir,
      checkpoint: run.checkpointDir,
      blocks: chosen.map((i) => names[i]),
      batchSize: x.shape[0],
      backend,
    });
    const zs = forwardChain(chain, x);
    tensors.push(...zs);
    await checkChain(() => network.apply(x, { training: true }), zs[zs.length - 1], backend);
    const top = (logits: tf.Tensor) => softmaxCrossEntropy(labels, logits);
    const out: BlockAnalysis[] = [];
    for (const [k, b] of chosen.entries()) {
      const t0 = Date.now();
      const isTop = b === blocks.length - 1;
      const { analysis, summary } = await analyzeBlock(
        {
          name: names[b],
          block: blocks[b],
          z: zs[b],
          top: isTop ? top : null,
          positionScaling: run.settings.positionScaling,
        },
        o,
      );
      out.push(analysis);
      const seconds = (Date.now() - t0) / 1000;
      options.onProgress?.({
        type: 'block',
        index: k,
        count: chosen.length,
        name: names[b],
        seconds,
        summary,
      });
    }
    return out;
  } finally {
    tf.dispose(tensors);
    network.dispose();
  }
}

/**
 * The chain re-implements the forward pass with twice-differentiable ops: check it against the model's
 * own (training-mode BN) before trusting any Hessian built on it. It caught a wasm bug (oneHot ignoring
 * its dtype zeroed maxPool2x2, fixed in @bmp/backmatching) and guards against others.
 */
async function checkChain(
  modelLogits: () => tf.Tensor,
  chainLogits: tf.Tensor,
  backend: string,
): Promise<void> {
  const maxima = tf.tidy(() => {
    const logits = modelLogits();
    return tf.stack([tf.max(tf.abs(logits)), tf.max(tf.abs(tf.sub(logits, chainLogits)))]);
  });
  let scale: number;
  let diff: number;
  try {
    [scale, diff] = await maxima.data();
  } finally {
    maxima.dispose();
  }
  const gap = diff / Math.max(scale, 1e-12);
  if (!(gap < 1e-3))
    throw new AnalyzeError(
      `the block chain's forward pass disagrees with the model on the ${backend} backend (max relative logit difference ${gap}); try --backend cpu`,
    );
}
