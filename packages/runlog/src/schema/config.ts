import { z } from 'zod';
import { CONFIG_SCHEMA_VERSION } from '../version';
import { finite, integer, nonNegativeInt, optimizerIdSchema, versionField } from './common';

/** The model a run trains; `name` is the trainer's model id (`vgg11`, `mlp`, ...). */
export const modelConfigSchema = z.looseObject({
  name: z.string().min(1),
  /** VGG: channel multiplier; MLP: hidden units per layer. */
  width: finite().optional(),
  layers: nonNegativeInt().optional(),
  init: z.string().optional(),
  /** Number of trainable parameters. */
  parameters: nonNegativeInt().optional(),
  /** Block names in forward order (each is its weight variable's name). */
  blocks: z.array(z.string()).optional(),
});
export type ModelConfig = z.infer<typeof modelConfigSchema>;

export const datasetConfigSchema = z.looseObject({
  name: z.string().min(1),
  /** [height, width, channels]. */
  imageShape: z.array(nonNegativeInt()).optional(),
  numClasses: nonNegativeInt().optional(),
  trainSize: nonNegativeInt().optional(),
  valSize: nonNegativeInt().optional(),
  testSize: nonNegativeInt().optional(),
  /** Where it was read from, if anywhere. */
  source: z.string().nullable().optional(),
});
export type DatasetConfig = z.infer<typeof datasetConfigSchema>;

/** Learning-rate schedule: `name` is 'none' | 'plateau' | 'step' | 'cosine' | ... */
export const scheduleConfigSchema = z.looseObject({
  name: z.string().min(1),
});
export type ScheduleConfig = z.infer<typeof scheduleConfigSchema>;

/** What computed a run (from @bmp/backends' `initBackend`): a CPU, a GPU, or a software GPU adapter. */
export const computeDeviceSchema = z.looseObject({
  /** 'cpu' | 'gpu' | 'software-gpu' (WebGPU emulated on the CPU, e.g. llvmpipe) | 'unknown'. */
  kind: z.string().min(1),
  /** In words: "CPU (wasm, native avx512 kernels, 2 thread(s))", "nvidia hopper (NVIDIA H100 ...)". */
  label: z.string(),
  /**
   * wasm with @bmp/backends-native: the instruction-set variant that ran (avx512, avx2, baseline), its
   * float lanes and threads, the variants installed and why this one (absent in older runs).
   */
  native: z
    .looseObject({
      isa: z.string(),
      lanes: z.number().optional(),
      threads: z.number().optional(),
      available: z.array(z.string()).optional(),
      isaChoice: z.string().optional(),
    })
    .optional(),
  /** webgpu: the adapter as WebGPU reports it. */
  adapter: z
    .looseObject({
      vendor: z.string(),
      architecture: z.string(),
      device: z.string(),
      description: z.string(),
      software: z.boolean(),
    })
    .optional(),
});
export type ComputeDevice = z.infer<typeof computeDeviceSchema>;

export const resumeEntrySchema = z.looseObject({
  /** ISO 8601 time of the resume. */
  at: z.string(),
  /** Checkpoint directory resumed from. */
  from: z.string().optional(),
  backend: z.string().optional(),
  device: computeDeviceSchema.optional(),
});
export type ResumeEntry = z.infer<typeof resumeEntrySchema>;

/** `config.json` of one run: written once at the start (atomically), amended on resume. */
export const runConfigSchema = z.looseObject({
  schemaVersion: versionField(CONFIG_SCHEMA_VERSION, 'config.json schema'),
  runName: z.string().min(1),
  /** Shared by the runs of one comparison; null for a run outside any comparison. */
  compareId: z.string().nullable(),
  /** ISO 8601 creation time. */
  createdAt: z.string(),
  optimizer: optimizerIdSchema,
  seed: integer(),
  /** The tfjs backend the run actually used ('wasm', 'cpu', 'tensorflow', ...). */
  backend: z.string().min(1),
  /** What the backend computed on (absent in runs written before it was recorded). */
  device: computeDeviceSchema.optional(),
  /** Versions of everything that can change the result: node, tfjs-core, @bmp/* packages, trainer. */
  versions: z.record(z.string(), z.string()),
  model: modelConfigSchema,
  dataset: datasetConfigSchema,
  schedule: scheduleConfigSchema,
  /** Augmentation ids in the order applied ('flip', 'rotate', 'crop', ...). */
  augmentations: z.array(z.string()),
  /** Every setting of the run, exactly as resolved (the source of truth for reproducing it). */
  settings: z.record(z.string(), z.unknown()),
  resumes: z.array(resumeEntrySchema).optional(),
});
export type RunConfig = z.infer<typeof runConfigSchema>;
