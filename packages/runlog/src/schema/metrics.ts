import { z } from 'zod';
import { METRICS_SCHEMA_VERSION } from '../version';
import { blockScaleSchema, finite, integer, nonNegativeInt, optimizerIdSchema, versionField } from './common';

const v = () => versionField(METRICS_SCHEMA_VERSION, 'metrics record');

/**
 * One line of `metrics.jsonl` written at the end of every epoch. `wallTime` is Unix time in seconds
 * (like TensorBoard's). Accuracies and errors are fractions in [0, 1].
 */
export const epochRecordSchema = z.looseObject({
  type: z.literal('epoch'),
  v: v(),
  /** Run name (the run directory's name); optional because the directory already says it. */
  run: z.string().optional(),
  /** 0-based index of the epoch that just ended. */
  epoch: nonNegativeInt(),
  /** Optimizer steps taken so far (global). */
  step: nonNegativeInt(),
  optimizer: optimizerIdSchema,
  seed: integer(),
  /** Shared by the runs of one comparison; null for a run outside any comparison. */
  compareId: z.string().nullable(),
  trainLoss: finite(),
  trainAccuracy: finite(),
  /** Present when there is a validation split. */
  valAccuracy: finite().optional(),
  valLoss: finite().optional(),
  testLoss: finite(),
  testError: finite(),
  testAccuracy: finite().optional(),
  /** Learning rate in effect during the epoch (after it, for schedules that change at epoch end). */
  lr: finite(),
  imagesPerSecond: finite(),
  wallTime: finite(),
  epochSeconds: finite().optional(),
  /** Hash of the data order of the epoch (to check that compared runs saw the same batches). */
  orderHash: z.string().nullable().optional(),
  /** Per block, scale-amended SGD only. */
  scales: z.array(blockScaleSchema).optional(),
});
export type EpochRecord = z.infer<typeof epochRecordSchema>;

/** A line written every N optimizer steps. */
export const stepRecordSchema = z.looseObject({
  type: z.literal('step'),
  v: v(),
  run: z.string().optional(),
  epoch: nonNegativeInt().optional(),
  step: nonNegativeInt(),
  wallTime: finite(),
  loss: finite(),
  lr: finite(),
  scales: z.array(blockScaleSchema).optional(),
});
export type StepRecord = z.infer<typeof stepRecordSchema>;

/** Event names this release writes; readers must accept others (forward compatibility). */
export const KNOWN_EVENTS = [
  'start',
  'resume',
  'checkpoint',
  'stop',
  'interrupt',
  'non-finite-loss',
] as const;
export type KnownEvent = (typeof KNOWN_EVENTS)[number];

/**
 * Something that happened to the run: start, resume, checkpoint, stop (a finished, interrupted or
 * failed run; `reason` says which). Non-finite metric values cannot be JSON numbers, so a NaN loss is
 * logged as an event with the value as a string in `value`.
 */
export const eventRecordSchema = z.looseObject({
  type: z.literal('event'),
  v: v(),
  event: z.string().min(1) as z.ZodType<KnownEvent | (string & {})>,
  wallTime: finite(),
  run: z.string().optional(),
  step: nonNegativeInt().optional(),
  epoch: nonNegativeInt().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  checkpoint: z.string().optional(),
  value: z.string().optional(),
});
export type EventRecord = z.infer<typeof eventRecordSchema>;

export const METRICS_RECORD_TYPES = ['epoch', 'step', 'event'] as const;
export type MetricsRecordType = (typeof METRICS_RECORD_TYPES)[number];

export const metricsRecordSchema = z.discriminatedUnion('type', [
  epochRecordSchema,
  stepRecordSchema,
  eventRecordSchema,
]);
export type MetricsRecord = z.infer<typeof metricsRecordSchema>;

/** Distributive `Omit` of the fields the writer can fill in (`v`). */
export type MetricsRecordInput = Omit<EpochRecord, 'v'> | Omit<StepRecord, 'v'> | Omit<EventRecord, 'v'>;
