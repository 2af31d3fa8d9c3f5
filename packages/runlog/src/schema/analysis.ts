import { z } from 'zod';
import { ANALYSIS_SCHEMA_VERSION } from '../version';
import { finite, integer, nonNegativeInt, versionField } from './common';

/** Histogram of eigenvalues: `counts[i]` eigenvalues lie in [edges[i], edges[i+1]). */
export const histogramSchema = z
  .looseObject({
    edges: z.array(finite()).min(2),
    counts: z.array(nonNegativeInt()),
  })
  .refine((h) => h.counts.length === h.edges.length - 1, {
    message: 'counts must have one entry fewer than edges',
    path: ['counts'],
  });
export type Histogram = z.infer<typeof histogramSchema>;

/** Largest difference of the CDFs of an SLQ estimate and the exact spectrum, where both exist. */
export const exactDistanceSchema = z.looseObject({
  /** Kolmogorov distance sup_x |F_slq(x) - F_exact(x)|. */
  ks: finite().nonnegative(),
  /** Where it is attained. */
  at: finite().optional(),
  /** Wasserstein-1 distance (integral of |F_slq - F_exact|) over lambda_max - lambda_min. */
  wasserstein1Relative: finite().nonnegative().optional(),
  /** |lambda| at or below this counted as 0 in both (the rank tolerance). */
  zeroTolerance: finite().nonnegative().optional(),
});
export type ExactDistance = z.infer<typeof exactDistanceSchema>;

/**
 * Spectral density from stochastic Lanczos quadrature: Gauss nodes and weights of every probe (weights
 * divided by the number of probes, summing to 1), and the density drawn from them. All but `nodes`,
 * `weights`, `probes` and `lanczosSteps` are optional (older reports have only those).
 */
export const slqDensitySchema = z.looseObject({
  nodes: z.array(finite()),
  weights: z.array(finite()),
  probes: nonNegativeInt(),
  /** Lanczos steps of each probe (the first probe's may differ: `firstProbeSteps`). */
  lanczosSteps: nonNegativeInt(),
  /** Gaussian broadening used to draw a density from nodes and weights, if any (in decades for log10). */
  broadening: finite().optional(),
  method: z.string().optional(),
  /** Steps of the first probe, when it is the run that found the Lanczos extremes. */
  firstProbeSteps: nonNegativeInt().optional(),
  seed: integer().optional(),
  matVecs: nonNegativeInt().optional(),
  /** Probe p's nodes are nodes[probeOffsets[p]] .. nodes[probeOffsets[p + 1] - 1]. */
  probeOffsets: z.array(nonNegativeInt()).optional(),
  /** 'linear' (density per unit eigenvalue) or 'log10' (per decade, of the part above zeroTolerance). */
  scale: z.enum(['linear', 'log10']).optional(),
  /** Eigenvalues at which `density` is given. */
  grid: z.array(finite()).optional(),
  density: z.array(finite()).optional(),
  /** Standard error of the density across probes, at each grid point. */
  standardError: z.array(finite()).optional(),
  zeroTolerance: finite().nonnegative().optional(),
  /** Weight of the nodes with |lambda| <= zeroTolerance, and below -zeroTolerance. */
  zeroMass: finite().optional(),
  negativeMass: finite().optional(),
  /** On blocks with exact eigenvalues too: how far this estimate is from them. */
  exactDistance: exactDistanceSchema.optional(),
});
export type SlqDensity = z.infer<typeof slqDensitySchema>;

export const eigenvalueSummarySchema = z.looseObject({
  min: finite(),
  max: finite(),
  /** Number of eigenvalues (the matrix dimension for a full decomposition). */
  count: nonNegativeInt(),
  /** 'dense' (full decomposition), 'lanczos' (extreme eigenvalues), 'slq' (density only). */
  method: z.string().optional(),
  histogram: histogramSchema.optional(),
  /** All eigenvalues, ascending, when small enough to store. */
  eigenvalues: z.array(finite()).optional(),
  density: slqDensitySchema.optional(),
  /** Matrix-vector products used (matrix-free methods). */
  matVecs: nonNegativeInt().optional(),
  /** Lanczos: whether each Ritz value in `eigenvalues` met the residual tolerance. */
  convergedValues: z.array(z.boolean()).optional(),
});
export type EigenvalueSummary = z.infer<typeof eigenvalueSummarySchema>;

/** C(M) = sigma_max / sigma_min over the singular values above `rankTolerance`. */
export const conditionNumberSchema = z.looseObject({
  value: finite(),
  /** Singular values at or below this are treated as zero. */
  rankTolerance: finite().nonnegative(),
  /** Number of singular values above the tolerance. */
  rank: nonNegativeInt(),
  sigmaMax: finite().optional(),
  sigmaMin: finite().optional(),
});
export type ConditionNumber = z.infer<typeof conditionNumberSchema>;

/** Marchenko-Pastur law fitted to (or predicted for) a spectrum, eq. 10-11. */
export const marchenkoPasturSchema = z.looseObject({
  /** c = n_b / n_{b-1}. */
  c: finite().positive(),
  sigma2: finite().positive(),
  /** How sigma2 was obtained: 'weights' (from the weight variance), 'bn' (eq. 19: sigma2 = c), 'mean' (matched mean eigenvalue), ... */
  sigma2Method: z.string().min(1),
  /** Support edges c_- and c_+ of eq. 11. */
  lower: finite().optional(),
  upper: finite().optional(),
  /** max(0, 1 - c). */
  atomAtZero: finite().optional(),
  /** Kolmogorov-Smirnov distance between the empirical spectrum and the law (point mass included). */
  ksDistance: finite().nonnegative().optional(),
});
export type MarchenkoPastur = z.infer<typeof marchenkoPasturSchema>;

/** Spectrum of one local Hessian of a block. */
export const spectrumSchema = z.looseObject({
  /** Which local Hessian: 'Hz' (eq. 8/17), 'HW' (eq. 9/18), 'gauss-newton', ... */
  matrix: z.string().min(1),
  /** Its dimension. */
  dimension: nonNegativeInt(),
  eigenvalues: eigenvalueSummarySchema,
  condition: conditionNumberSchema,
  marchenkoPastur: marchenkoPasturSchema.optional(),
});
export type Spectrum = z.infer<typeof spectrumSchema>;

/** Eq. 24 scalars against trace/dimension of the exact local Hessians. */
export const eq24ComparisonSchema = z.looseObject({
  mW: finite(),
  mZ: finite(),
  /** trace(H_W) / dim, exact (closed form or autodiff) or estimated (see traceMethod). */
  exactW: finite(),
  exactZ: finite(),
  /** 'exact' or 'hutchinson'. */
  traceMethod: z.string().optional(),
  /** Hutchinson probes, when estimated. */
  probes: nonNegativeInt().optional(),
  /** mW / exactW and mZ / exactZ. */
  ratioW: finite().optional(),
  ratioZ: finite().optional(),
});
export type Eq24Comparison = z.infer<typeof eq24ComparisonSchema>;

export const blockAnalysisSchema = z.looseObject({
  /** Block name (its weight variable's name). */
  name: z.string().min(1),
  /** 'dense' | 'conv2d' | 'residual' | ... */
  kind: z.string().min(1),
  /** Sizes: e.g. { nIn, nOut } for dense, { cIn, cOut, kh, kw, pIn, pOut, batch } for conv. */
  dims: z.record(z.string(), nonNegativeInt()),
  /** Batch normalisation after the weight layer. */
  batchNorm: z.boolean().optional(),
  spectra: z.array(spectrumSchema),
  eq24: eq24ComparisonSchema.optional(),
});
export type BlockAnalysis = z.infer<typeof blockAnalysisSchema>;

/** One of the paper's claims run as a check (section 3): `passed` says whether `measured` met `bound`. */
export const claimCheckSchema = z.looseObject({
  name: z.string().min(1),
  passed: z.boolean(),
  measured: finite(),
  bound: finite(),
  /** How measured is compared with bound: '<=', '>=', '<', '>', '~=' ... */
  relation: z.string().optional(),
  /** Paper reference, e.g. 'Remark 2'. */
  reference: z.string().optional(),
  description: z.string().optional(),
  /** Sizes and seeds the check used. */
  seed: integer().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ClaimCheck = z.infer<typeof claimCheckSchema>;

/** `analysis.json`, written by `bmp-train analyze`. */
export const analysisReportSchema = z.looseObject({
  schemaVersion: versionField(ANALYSIS_SCHEMA_VERSION, 'analysis.json schema'),
  /** ISO 8601 creation time. */
  createdAt: z.string(),
  /** What was analysed: run name, checkpoint, model id... */
  source: z.record(z.string(), z.unknown()).optional(),
  backend: z.string().optional(),
  versions: z.record(z.string(), z.string()).optional(),
  seed: integer().optional(),
  blocks: z.array(blockAnalysisSchema),
  claims: z.array(claimCheckSchema),
});
export type AnalysisReport = z.infer<typeof analysisReportSchema>;
