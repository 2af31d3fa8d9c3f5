/**
 * The one place where the trainer touches the run-log format: everything goes through `@bmp/runlog`
 * (zod schemas shared with the viewer, the validating metrics writer, TensorBoard event files, atomic
 * JSON). Records are validated before they are written.
 */
import { readFile } from 'node:fs/promises';
import {
  type EpochRecord,
  type EventRecord,
  type MetricsRecord,
  type RunConfig,
  readMetricsFile,
  runConfigSchema,
  writeJsonAtomic as runlogWriteJsonAtomic,
} from '@bmp/runlog/node';
import { RunDirError } from './errors';

export {
  CONFIG_SCHEMA_VERSION,
  type ComputeDevice,
  crc32c,
  type EpochRecord,
  type EventRecord,
  METRICS_SCHEMA_VERSION,
  type MetricsRecord,
  MetricsWriter,
  type RunConfig,
  readComparePlan,
  readRunConfig,
  type StepRecord,
  TensorBoardWriter,
  unmaskCrc32c,
  writeFileAtomic,
} from '@bmp/runlog/node';

export type BlockScaleRecord = NonNullable<EpochRecord['scales']>[number];

/** Atomic JSON (temporary file, fsync, rename). */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await runlogWriteJsonAtomic(file, value);
}

/** Writes config.json after checking it against the shared schema. */
export async function writeRunConfig(file: string, config: RunConfig): Promise<void> {
  await runlogWriteJsonAtomic(file, config, { schema: runConfigSchema });
}

/** Reads a JSON file; a file that is not valid JSON is a RunDirError naming it. */
export async function readJson<T = unknown>(file: string): Promise<T> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    const what = text.trim() === '' ? 'empty' : `not valid JSON (${(e as Error).message})`;
    throw new RunDirError(`${file}: ${what}`);
  }
}

/** Every valid record of a metrics.jsonl file (throws if a line is not a valid record). */
export async function readJsonl(file: string): Promise<MetricsRecord[]> {
  const { records, problems } = await readMetricsFile(file);
  if (problems.length > 0) {
    throw new Error(`${file}: line ${problems[0].line}: ${problems[0].message}`);
  }
  return records;
}

export type EventInput = Omit<EventRecord, 'v'>;
