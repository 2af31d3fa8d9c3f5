import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeEventFile,
  epochScalars,
  eventFileName,
  readTfRecords,
  TENSORBOARD_FILE_VERSION,
  TensorBoardWriter,
} from '../src/node';
import { epochRecord, stepRecord } from './fixtures';

// Decoded with protobufjs against the field numbers of TensorBoard's event.proto / summary.proto,
// an implementation independent of ours.
const root = protobuf.loadSync(
  join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tensorboard.proto'),
);
const Event = root.lookupType('tensorflow.Event');

interface DecodedEvent {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  summary?: { value: { tag: string; simpleValue: number }[] };
}

function decodeFile(bytes: Uint8Array): DecodedEvent[] {
  const { records, problem } = readTfRecords(bytes);
  expect(problem).toBeUndefined();
  return records.map((r) => {
    const msg = Event.decode(r);
    // Every byte must belong to a known field of the reference protos.
    expect(new Uint8Array(Event.encode(msg).finish())).toEqual(new Uint8Array(r));
    return Event.toObject(msg, { longs: Number }) as DecodedEvent;
  });
}

const scalarsOf = (e: DecodedEvent) =>
  Object.fromEntries(e.summary!.value.map((v) => [v.tag, v.simpleValue]));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'runlog-tb-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('TensorBoardWriter', () => {
  it('writes events.out.tfevents.<time>.<host> starting with file_version', () => {
    const w = new TensorBoardWriter(dir, { wallTime: 1_700_000_123.75, host: 'box' });
    w.close();
    expect(readdirSync(dir)).toEqual(['events.out.tfevents.1700000123.box']);
    const events = decodeFile(readFileSync(w.file));
    expect(events).toEqual([{ wallTime: 1_700_000_123.75, fileVersion: TENSORBOARD_FILE_VERSION }]);
  });

  it('the decoded events give the written scalars, steps and wall times', () => {
    const w = new TensorBoardWriter(dir, { host: 'box', wallTime: 1000 });
    w.scalars(
      10,
      { 'train/loss': 2.5, lr: 0.1, 'test/error': 0.125, skipped: undefined, nan: Number.NaN },
      1001.5,
    );
    w.scalar('train/step_loss', 1.75, 2 ** 40, 1002); // a step beyond 32 bits
    const rec = epochRecord({ step: 300, wallTime: 1003 });
    w.epoch(rec);
    w.step(stepRecord({ step: 301, loss: 0.5, lr: 0.05, wallTime: 1004 }));
    w.flush();
    w.close();
    const events = decodeFile(readFileSync(w.file));
    expect(events).toHaveLength(5);
    expect(events[0].fileVersion).toBe('brain.Event:2');
    expect(events[1]).toMatchObject({ wallTime: 1001.5, step: 10 });
    // simple_value is a float32: compare with the float32 rounding of what was written.
    expect(scalarsOf(events[1])).toEqual({
      'train/loss': 2.5,
      lr: Math.fround(0.1),
      'test/error': 0.125,
    });
    expect(events[2]).toMatchObject({ step: 2 ** 40, wallTime: 1002 });
    expect(scalarsOf(events[2])).toEqual({ 'train/step_loss': 1.75 });
    expect(events[3]).toMatchObject({ step: 300, wallTime: 1003 });
    const expected = Object.fromEntries(
      Object.entries(epochScalars(rec))
        .filter(([, v]) => typeof v === 'number')
        .map(([k, v]) => [k, Math.fround(v as number)]),
    );
    expect(scalarsOf(events[3])).toEqual(expected);
    expect(scalarsOf(events[3])).toMatchObject({
      'train/loss': 1.25,
      'test/error': Math.fround(0.45),
      'scales/block1/kernel/m': 0.625,
      'scales/block1/kernel/mW': 1024,
      'scales/dense/kernel/mZ': 0.625,
    });
    expect(scalarsOf(events[4])).toEqual({ 'train/step_loss': 0.5, lr: Math.fround(0.05) });
  });

  it('never reuses an existing file name', () => {
    const a = new TensorBoardWriter(dir, { host: 'box', wallTime: 5 });
    const b = new TensorBoardWriter(dir, { host: 'box', wallTime: 5 });
    a.close();
    b.close();
    expect(readdirSync(dir).sort()).toEqual(['events.out.tfevents.5.box', 'events.out.tfevents.5.box.1']);
    expect(() => a.scalar('x', 1, 1)).toThrow(/after close/);
  });
});

describe('encodeEventFile (browser-safe)', () => {
  it('builds the same kind of file in memory', () => {
    const bytes = encodeEventFile(
      [
        { step: 1, wallTime: 11, values: { a: 1 } },
        { step: 2, wallTime: 12, values: { a: 0.5, b: -3 } },
      ],
      10,
    );
    const events = decodeFile(bytes);
    expect(events[0]).toEqual({ wallTime: 10, fileVersion: 'brain.Event:2' });
    expect(events.slice(1).map(scalarsOf)).toEqual([{ a: 1 }, { a: 0.5, b: -3 }]);
  });

  it('writes a zero value at step 0 (the oneof keeps simple_value = 0 on the wire)', () => {
    const events = decodeFile(encodeEventFile([{ step: 0, wallTime: 1, values: { zero: 0 } }], 1));
    expect(events[1]).toEqual({ wallTime: 1, summary: { value: [{ tag: 'zero', simpleValue: 0 }] } });
  });

  it('sanitises the host in the file name', () => {
    expect(eventFileName(12.9, 'my host/1', 'p42')).toBe('events.out.tfevents.12.my_host_1.p42');
  });
});
