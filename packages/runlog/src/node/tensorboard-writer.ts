import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { EpochRecord, StepRecord } from '../schema/metrics';
import {
  encodeFileVersionEvent,
  encodeScalarsEvent,
  epochScalars,
  eventFileName,
  type ScalarValues,
  stepScalars,
} from '../tensorboard/event';
import { frameTfRecord } from '../tensorboard/tfrecord';
import { createFileAtomicSync } from './atomic';

export interface TensorBoardWriterOptions {
  /** Host part of the file name (default: os.hostname()). */
  host?: string;
  /** Appended to the file name after the host (e.g. the pid). */
  suffix?: string;
  /** Wall time (Unix seconds) of the file_version event and the name (default: now). */
  wallTime?: number;
}

const now = () => Date.now() / 1000;

/**
 * Writes a TensorBoard event file `events.out.tfevents.<time>.<host>` in `logDir`: TFRecord frames
 * around `Event` protos, the first holding `file_version = "brain.Event:2"`, the others scalar
 * summaries (simple_value). The file is created atomically with its first event; a name that is taken
 * gets a numeric suffix. Each event is one append; `flush()`/`close()` fsync.
 */
export class TensorBoardWriter {
  readonly file: string;
  private fd: number;

  constructor(logDir: string, options: TensorBoardWriterOptions = {}) {
    fs.mkdirSync(logDir, { recursive: true });
    const wallTime = options.wallTime ?? now();
    const host = options.host ?? hostname();
    const first = frameTfRecord(encodeFileVersionEvent(wallTime));
    let file = join(logDir, eventFileName(wallTime, host, options.suffix));
    for (let i = 1; !createFileAtomicSync(file, first); i++) {
      file = join(
        logDir,
        eventFileName(wallTime, host, [options.suffix, String(i)].filter(Boolean).join('.')),
      );
    }
    this.file = file;
    this.fd = fs.openSync(file, 'a');
  }

  /** One event with several scalars at `step` (tags like `train/loss`); non-finite values are left out. */
  scalars(step: number, values: ScalarValues, wallTime: number = now()): void {
    if (this.fd < 0) throw new Error(`${this.file}: write after close()`);
    const frame = frameTfRecord(encodeScalarsEvent(wallTime, step, values));
    let off = 0;
    while (off < frame.length) off += fs.writeSync(this.fd, frame, off, frame.length - off);
  }

  scalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.scalars(step, { [tag]: value }, wallTime);
  }

  /** The scalars of an epoch record (see `epochScalars`) at its step and wall time. */
  epoch(record: EpochRecord): void {
    this.scalars(record.step, epochScalars(record), record.wallTime);
  }

  /** The scalars of a step record (see `stepScalars`). */
  step(record: StepRecord): void {
    this.scalars(record.step, stepScalars(record), record.wallTime);
  }

  flush(): void {
    if (this.fd >= 0) fs.fsyncSync(this.fd);
  }

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
