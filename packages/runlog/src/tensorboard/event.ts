import type { EpochRecord, StepRecord } from '../schema/metrics';
import { ProtoWriter } from './protobuf';
import { frameTfRecord } from './tfrecord';

/**
 * TensorBoard `Event` messages (tensorflow/core/util/event.proto, framework/summary.proto):
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; float simple_value = 2; }
 */

/** `file_version` of the first event of every file. */
export const TENSORBOARD_FILE_VERSION = 'brain.Event:2';

/** Scalars of one event: tag -> value. Undefined, null and non-finite values are left out. */
export type ScalarValues = Record<string, number | null | undefined>;

/** Event header fields; like proto3 serialisers, fields holding their default (0) are left out. */
function header(wallTime: number, step: number): ProtoWriter {
  const w = new ProtoWriter();
  if (wallTime !== 0) w.double(1, wallTime);
  if (step !== 0) w.int64(2, step);
  return w;
}

/** The serialised first event of a file: wall time and `file_version` (step 0). */
export function encodeFileVersionEvent(wallTime: number): Uint8Array {
  return header(wallTime, 0).string(3, TENSORBOARD_FILE_VERSION).finish();
}

/** The serialised event holding `values` as simple_value scalars (float32) at `step`. */
export function encodeScalarsEvent(wallTime: number, step: number, values: ScalarValues): Uint8Array {
  const summary = new ProtoWriter();
  for (const [tag, value] of Object.entries(values)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    summary.bytes(1, new ProtoWriter().string(1, tag).float(2, value).finish());
  }
  return header(wallTime, step).bytes(5, summary.finish()).finish();
}

/** `events.out.tfevents.<unix seconds>.<host>[.<suffix>]`, the name TensorBoard looks for. */
export function eventFileName(wallTime: number, host: string, suffix?: string): string {
  const safeHost = host.replace(/[^A-Za-z0-9._-]/g, '_') || 'localhost';
  const base = `events.out.tfevents.${Math.floor(wallTime)}.${safeHost}`;
  return suffix ? `${base}.${suffix}` : base;
}

export interface ScalarEvent {
  step: number;
  wallTime: number;
  values: ScalarValues;
}

/**
 * A whole event file in memory (browser-safe; e.g. to export runs opened in the viewer): the
 * file_version event, then one framed event per entry.
 */
export function encodeEventFile(events: readonly ScalarEvent[], startWallTime?: number): Uint8Array {
  const frames = [
    frameTfRecord(encodeFileVersionEvent(startWallTime ?? events[0]?.wallTime ?? Date.now() / 1000)),
    ...events.map((e) => frameTfRecord(encodeScalarsEvent(e.wallTime, e.step, e.values))),
  ];
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) {
    out.set(f, o);
    o += f.length;
  }
  return out;
}

/** Tags for an epoch record's per-block scales: `scales/<block>/m`, `.../mW`, `.../mZ`. */
function scaleTags(scales: EpochRecord['scales'], out: ScalarValues): void {
  for (const s of scales ?? []) {
    out[`scales/${s.name}/m`] = s.m;
    out[`scales/${s.name}/mW`] = s.mW;
    out[`scales/${s.name}/mZ`] = s.mZ;
  }
}

/**
 * The TensorBoard scalars of an epoch record: `train/loss`, `train/accuracy`, `val/accuracy`,
 * `val/loss`, `test/loss`, `test/error`, `test/accuracy`, `lr`, `perf/images_per_second` and
 * `scales/<block>/{m,mW,mZ}`. Logged at the record's `step`.
 */
export function epochScalars(r: EpochRecord): ScalarValues {
  const out: ScalarValues = {
    'train/loss': r.trainLoss,
    'train/accuracy': r.trainAccuracy,
    'val/accuracy': r.valAccuracy,
    'val/loss': r.valLoss,
    'test/loss': r.testLoss,
    'test/error': r.testError,
    'test/accuracy': r.testAccuracy,
    lr: r.lr,
    'perf/images_per_second': r.imagesPerSecond,
    epoch: r.epoch,
  };
  scaleTags(r.scales, out);
  return out;
}

/** The TensorBoard scalars of a step record: `train/step_loss`, `lr` and scales. */
export function stepScalars(r: StepRecord): ScalarValues {
  const out: ScalarValues = { 'train/step_loss': r.loss, lr: r.lr };
  scaleTags(r.scales, out);
  return out;
}
