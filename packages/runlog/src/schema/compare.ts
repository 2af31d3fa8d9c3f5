import { z } from 'zod';
import { finite, integer, optimizerIdSchema } from './common';

/** One planned run of a comparison: its directory name under the comparison and its settings. */
export const plannedRunSchema = z.looseObject({
  runName: z.string().min(1),
  optimizer: optimizerIdSchema,
  lr: finite(),
  seed: integer(),
  /** Every setting of the run, as `config.json` will store it. */
  settings: z.record(z.string(), z.unknown()),
});

/**
 * `compare.json` of a comparison (bmp-train compare): the plan (written when it starts), then its
 * status ('running', 'completed', 'interrupted', 'diverged', 'failed') with the summary or the failures.
 */
export const comparePlanSchema = z.looseObject({
  kind: z.literal('bmp-train-compare'),
  version: z.literal(1),
  compareId: z.string().min(1),
  createdAt: z.string(),
  runs: z.array(plannedRunSchema).min(1),
  status: z.string().optional(),
  resumes: z.array(z.unknown()).optional(),
});
export type ComparePlanFile = z.infer<typeof comparePlanSchema>;
