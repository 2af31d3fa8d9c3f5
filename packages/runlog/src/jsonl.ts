import type { MetricsRecord } from './schema/metrics';
import { type ParseResult, safeParseMetricsRecord } from './validate';

/** A line that was skipped, 1-based, and why. */
export interface LineProblem {
  line: number;
  message: string;
}

export interface JsonlParseResult<T> {
  /** The valid records, in file order. */
  records: T[];
  /** Malformed, partial or invalid lines, in file order; none of them is in `records`. */
  problems: LineProblem[];
  /** Lines seen (a final newline does not start a new line). */
  lines: number;
}

/**
 * How each parsed line is checked. The default checks `metrics.jsonl` records; pass `false` to keep any
 * JSON value, or your own validator.
 */
export type LineValidator<T> = ((value: unknown) => ParseResult<T>) | false;

export interface JsonlParseOptions<T> {
  validate?: LineValidator<T>;
}

const defaultValidator = safeParseMetricsRecord as unknown as (value: unknown) => ParseResult<never>;

/**
 * Incremental JSONL parser: feed it text in chunks of any size (split anywhere), then call `end()`.
 * It never throws on a bad line: each one becomes a `{ line, message }` problem and is skipped. Blank
 * lines are ignored. A last line without its newline that does not parse is reported as cut short (a
 * write interrupted by a crash); one that parses is kept.
 */
export class JsonlLineParser<T = MetricsRecord> {
  private buffer = '';
  private lineNo = 0;
  private done = false;
  private readonly validate: LineValidator<T>;
  readonly records: T[] = [];
  readonly problems: LineProblem[] = [];

  constructor(options: JsonlParseOptions<T> = {}) {
    this.validate = options.validate === undefined ? defaultValidator : options.validate;
  }

  push(chunk: string): void {
    if (this.done) throw new Error('JsonlLineParser: push() after end()');
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', start);
      if (nl < 0) break;
      this.line(this.buffer.slice(start, nl), true);
      start = nl + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  end(): JsonlParseResult<T> {
    if (!this.done) {
      this.done = true;
      if (this.buffer !== '') this.line(this.buffer, false);
      this.buffer = '';
    }
    return { records: this.records, problems: this.problems, lines: this.lineNo };
  }

  private line(raw: string, terminated: boolean): void {
    const lineNo = ++this.lineNo;
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const message = terminated
        ? `not valid JSON: ${(e as Error).message}`
        : `incomplete last line (no newline at the end and not valid JSON: the write was probably cut short)`;
      this.problems.push({ line: lineNo, message });
      return;
    }
    if (this.validate === false) {
      this.records.push(value as T);
      return;
    }
    const r = this.validate(value);
    if (r.ok) this.records.push(r.value);
    else this.problems.push({ line: lineNo, message: r.error });
  }
}

/** Parses a whole JSONL text (browser-safe; for a `File`, pass `await file.text()`). */
export function parseJsonl<T = MetricsRecord>(
  text: string,
  options?: JsonlParseOptions<T>,
): JsonlParseResult<T> {
  const p = new JsonlLineParser<T>(options);
  p.push(text);
  return p.end();
}

/**
 * Parses JSONL from chunks as they arrive (UTF-8 bytes or strings): a Node read stream, or in a
 * browser `file.stream()` turned into an async iterable. Memory holds one line at a time plus the
 * records.
 */
export async function parseJsonlChunks<T = MetricsRecord>(
  chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options?: JsonlParseOptions<T>,
): Promise<JsonlParseResult<T>> {
  const p = new JsonlLineParser<T>(options);
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of chunks) {
    p.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  p.push(decoder.decode());
  return p.end();
}

/** Serialises one record as a JSONL line (with its newline). */
export function toJsonlLine(record: unknown): string {
  const s = JSON.stringify(record);
  if (s === undefined) throw new TypeError('toJsonlLine: value cannot be serialised as JSON');
  return `${s}\n`;
}
