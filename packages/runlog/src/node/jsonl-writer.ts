import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { toJsonlLine } from '../jsonl';
import type { MetricsRecord, MetricsRecordInput } from '../schema/metrics';
import { type ParseResult, RunlogSchemaError, safeParseMetricsRecord } from '../validate';
import { METRICS_SCHEMA_VERSION } from '../version';
import { createFileAtomicSync } from './atomic';

export interface JsonlWriterOptions<T> {
  /** Checked before each line is written; an invalid record throws `RunlogSchemaError` and writes nothing. */
  validate?: (value: unknown) => ParseResult<T>;
  /** fsync after every `n` lines (default 0: only on `flush()` and `close()`). */
  fsyncEvery?: number;
}

/**
 * Appends JSON records to a file, one line each, safely:
 * - a new file is created atomically (empty, then opened for appending), with its directory;
 * - the file is opened with O_APPEND, so lines only ever go after what is there;
 * - every line (record + newline) is handed to the OS in one write call;
 * - if the file ends in a partial line (a crash mid-write), a newline is written first, so the new
 *   records stay readable and only the partial line is reported by the reader;
 * - `flush()` and `close()` fsync.
 * Synchronous on purpose: a line is on its way to disk when `append` returns, also from exit handlers.
 */
export class JsonlWriter<T = unknown> {
  readonly file: string;
  private fd: number;
  private pending = 0;
  private bytes: number;
  private readonly validate?: (value: unknown) => ParseResult<T>;
  private readonly fsyncEvery: number;

  constructor(file: string, options: JsonlWriterOptions<T> = {}) {
    this.file = file;
    this.validate = options.validate;
    this.fsyncEvery = options.fsyncEvery ?? 0;
    fs.mkdirSync(dirname(file), { recursive: true });
    createFileAtomicSync(file);
    this.fd = fs.openSync(file, 'a');
    this.bytes = fs.fstatSync(this.fd).size;
    if (this.bytes > 0 && !this.endsWithNewline()) this.writeAll(Buffer.from('\n'));
  }

  private endsWithNewline(): boolean {
    const b = Buffer.alloc(1);
    const rfd = fs.openSync(this.file, 'r');
    try {
      fs.readSync(rfd, b, 0, 1, this.bytes - 1);
    } finally {
      fs.closeSync(rfd);
    }
    return b[0] === 0x0a;
  }

  private writeAll(buf: Buffer): void {
    let off = 0;
    // One call in practice (regular files); loop only in case the OS accepts less.
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.bytes += buf.length;
  }

  /** Size of the file in bytes after the lines written so far (e.g. for a checkpoint to truncate back to). */
  get size(): number {
    return this.bytes;
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /** Appends one record as one line. */
  append(record: T): void {
    if (this.fd < 0) throw new Error(`${this.file}: append() after close()`);
    if (this.validate) {
      const r = this.validate(record);
      if (!r.ok)
        throw new RunlogSchemaError(
          `${this.file}: refusing to write an invalid record: ${r.error}`,
          r.issues,
        );
    }
    this.writeAll(Buffer.from(toJsonlLine(record), 'utf8'));
    if (this.fsyncEvery > 0 && ++this.pending >= this.fsyncEvery) this.flush();
  }

  /** Forces the lines written so far to disk (fsync). */
  flush(): void {
    if (this.fd < 0) return;
    fs.fsyncSync(this.fd);
    this.pending = 0;
  }

  /** fsync and close; calling it again does nothing. */
  close(): void {
    if (this.fd < 0) return;
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * The `metrics.jsonl` writer: validates every record against the metrics schema and fills in the
 * schema version `v` when the record has none.
 */
export class MetricsWriter {
  private readonly w: JsonlWriter<MetricsRecord>;
  constructor(file: string, options: Omit<JsonlWriterOptions<MetricsRecord>, 'validate'> = {}) {
    this.w = new JsonlWriter<MetricsRecord>(file, { ...options, validate: safeParseMetricsRecord });
  }
  get file(): string {
    return this.w.file;
  }
  get size(): number {
    return this.w.size;
  }
  append(record: MetricsRecordInput | MetricsRecord): MetricsRecord {
    const full = ('v' in record ? record : { ...record, v: METRICS_SCHEMA_VERSION }) as MetricsRecord;
    this.w.append(full);
    return full;
  }
  flush(): void {
    this.w.flush();
  }
  close(): void {
    this.w.close();
  }
}
