/** The defaults of `bmp-train analyze`, used by its help text and by analyze() alike. */
export const ANALYZE_DEFAULTS = {
  /** Images of the analysed batch of training data. */
  batchSize: 16,
  /** Picks the batch; seeds Lanczos and Hutchinson. */
  seed: 0,
  /** Every eigenvalue up to this dimension, Lanczos extreme eigenvalues above. */
  maxDenseDim: 1024,
  /** Lanczos: eigenvalues at each end. */
  lanczosK: 3,
  /** Lanczos: most Hessian-vector products. */
  lanczosSteps: 80,
  /** Hutchinson probes for trace/dim above maxDenseDim (the first slqProbes are SLQ's). */
  traceProbes: 16,
  /** SLQ density: probes (0: none); the first is the Lanczos run of the extremes. */
  slqProbes: 3,
  /** SLQ density: Lanczos steps of each further probe. */
  slqSteps: 16,
} as const;
