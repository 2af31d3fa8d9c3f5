import { z } from 'zod';

/** Optimizer ids shared by the trainer, the optimizer package and the viewer. */
export const OPTIMIZER_IDS = ['sgd', 'scale-amended'] as const;
export const optimizerIdSchema = z.enum(OPTIMIZER_IDS);
export type OptimizerId = z.infer<typeof optimizerIdSchema>;

/** A finite number (zod 4 already rejects NaN and +-Infinity). */
export const finite = () => z.number();
/** An integer (zod's own message, "expected int, received number", is unclear for 1.5). */
export const integer = () => z.number().int({ error: 'expected an integer' });
export const nonNegativeInt = () => integer().nonnegative({ error: 'expected a non-negative integer' });

/**
 * A schema version field: a positive integer no newer than `current`. Older versions are accepted
 * (readers stay able to open old logs); newer ones are rejected with a message saying what to do.
 */
export function versionField(current: number, what: string) {
  return integer()
    .min(1)
    .refine((v) => v <= current, {
      message: `${what} version is newer than this @bmp/runlog understands (${current}); upgrade @bmp/runlog`,
    });
}

/** Backward-factor scalars of one block (eq. 24 and Algorithm 2), as logged by scale-amended SGD. */
export const blockScaleSchema = z.looseObject({
  /** Block name: the name of its weight variable. */
  name: z.string().min(1),
  /** Backward factor m on the block's output (Algorithm 2). */
  m: finite(),
  /** m_{b,W} of eq. 24. */
  mW: finite(),
  /** m_{b,z} of eq. 24. */
  mZ: finite(),
  /** ||W||_F^2 was too small; mW = 1 was used. */
  degenerate: z.boolean().optional(),
  /** The block's weights were not trained this step. */
  frozen: z.boolean().optional(),
});
export type BlockScale = z.infer<typeof blockScaleSchema>;
