import type { z } from 'zod';
import { type AnalysisReport, analysisReportSchema } from './schema/analysis';
import { type ComparePlanFile, comparePlanSchema } from './schema/compare';
import { type RunConfig, runConfigSchema } from './schema/config';
import { METRICS_RECORD_TYPES, type MetricsRecord, metricsRecordSchema } from './schema/metrics';

/** One thing wrong with a value, with the field it concerns (`scales[0].mW`; `(root)` for the value). */
export interface SchemaIssue {
  path: string;
  message: string;
}

export type ParseResult<T> =
  | { ok: true; value: T }
  | { ok: false /** All issues on one line, each naming its field. */; error: string; issues: SchemaIssue[] };

/** Thrown by the `parse*` functions (never by the readers, which report problems instead). */
export class RunlogSchemaError extends Error {
  override readonly name = 'RunlogSchemaError';
  constructor(
    message: string,
    readonly issues: SchemaIssue[],
  ) {
    super(message);
  }
}

/** `['scales', 0, 'mW']` -> `scales[0].mW`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

function fail<T>(issues: SchemaIssue[]): ParseResult<T> {
  return { ok: false, issues, error: issues.map((i) => `${i.path}: ${i.message}`).join('; ') };
}

/** "Invalid input: expected number, received undefined" -> "missing (expected number)". */
function friendlier(message: string): string {
  const m = /^Invalid input: expected (.+), received undefined$/.exec(message);
  return m ? `missing (expected ${m[1]})` : message;
}

/** Validates `value` against any zod schema, with issues that name their field. */
export function safeParseWith<S extends z.ZodType>(schema: S, value: unknown): ParseResult<z.output<S>> {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return fail(r.error.issues.map((i) => ({ path: formatPath(i.path), message: friendlier(i.message) })));
}

function orThrow<T>(r: ParseResult<T>, what: string): T {
  if (r.ok) return r.value;
  throw new RunlogSchemaError(`invalid ${what}: ${r.error}`, r.issues);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates one `metrics.jsonl` record; an unknown or missing `type` gets its own message. */
export function safeParseMetricsRecord(value: unknown): ParseResult<MetricsRecord> {
  if (!isObject(value)) return fail([{ path: '(root)', message: 'expected a JSON object' }]);
  const expected = METRICS_RECORD_TYPES.map((t) => `"${t}"`).join(', ');
  if (!('type' in value)) return fail([{ path: 'type', message: `missing (expected one of ${expected})` }]);
  if (!(METRICS_RECORD_TYPES as readonly unknown[]).includes(value.type)) {
    return fail([
      {
        path: 'type',
        message: `unknown record type ${JSON.stringify(value.type)} (expected one of ${expected})`,
      },
    ]);
  }
  return safeParseWith(metricsRecordSchema, value);
}

export const safeParseRunConfig = (value: unknown): ParseResult<RunConfig> =>
  safeParseWith(runConfigSchema, value);

export const safeParseComparePlan = (value: unknown): ParseResult<ComparePlanFile> =>
  safeParseWith(comparePlanSchema, value);

export const safeParseAnalysisReport = (value: unknown): ParseResult<AnalysisReport> =>
  safeParseWith(analysisReportSchema, value);

/** Like `safeParseMetricsRecord`, but throws a `RunlogSchemaError`. */
export const parseMetricsRecord = (value: unknown): MetricsRecord =>
  orThrow(safeParseMetricsRecord(value), 'metrics record');
export const parseRunConfig = (value: unknown): RunConfig =>
  orThrow(safeParseRunConfig(value), 'config.json');
export const parseAnalysisReport = (value: unknown): AnalysisReport =>
  orThrow(safeParseAnalysisReport(value), 'analysis.json');
