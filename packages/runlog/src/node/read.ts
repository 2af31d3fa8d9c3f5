import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type JsonlParseOptions, type JsonlParseResult, parseJsonlChunks } from '../jsonl';
import type { AnalysisReport } from '../schema/analysis';
import type { ComparePlanFile } from '../schema/compare';
import type { RunConfig } from '../schema/config';
import type { MetricsRecord } from '../schema/metrics';
import {
  type ParseResult,
  RunlogSchemaError,
  safeParseAnalysisReport,
  safeParseComparePlan,
  safeParseRunConfig,
} from '../validate';

/**
 * Reads a JSONL file as a stream (64 KiB chunks; big files never sit in memory as one string). Bad
 * lines are reported in `problems` and skipped; by default each line is checked as a `metrics.jsonl`
 * record. Throws only if the file cannot be read at all (e.g. it does not exist).
 */
export async function readJsonlFile<T = MetricsRecord>(
  file: string,
  options?: JsonlParseOptions<T>,
): Promise<JsonlParseResult<T>> {
  return parseJsonlChunks<T>(createReadStream(file, { highWaterMark: 64 * 1024 }), options);
}

/** `readJsonlFile` with the metrics schema (the default), named for what it reads. */
export const readMetricsFile = (file: string): Promise<JsonlParseResult<MetricsRecord>> =>
  readJsonlFile(file);

/**
 * Reads and parses a JSON file; with `validate`, checks it and throws `RunlogSchemaError` (naming
 * the file and the fields) when it does not match.
 */
export async function readJsonFile<T = unknown>(
  file: string,
  validate?: (v: unknown) => ParseResult<T>,
): Promise<T> {
  const text = await readFile(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RunlogSchemaError(`${file}: not valid JSON: ${(e as Error).message}`, [
      { path: '(root)', message: (e as Error).message },
    ]);
  }
  if (!validate) return value as T;
  const r = validate(value);
  if (!r.ok) throw new RunlogSchemaError(`${file}: ${r.error}`, r.issues);
  return r.value;
}

export const readRunConfig = (file: string): Promise<RunConfig> => readJsonFile(file, safeParseRunConfig);
export const readComparePlan = (file: string): Promise<ComparePlanFile> =>
  readJsonFile(file, safeParseComparePlan);
export const readAnalysisReport = (file: string): Promise<AnalysisReport> =>
  readJsonFile(file, safeParseAnalysisReport);
