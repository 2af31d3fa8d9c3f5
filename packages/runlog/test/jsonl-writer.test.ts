import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlWriter, MetricsWriter, RunlogSchemaError, readJsonlFile, readMetricsFile } from '../src/node';
import { epochRecord, stepRecord } from './fixtures';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'runlog-jsonl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('JsonlWriter / readJsonlFile', () => {
  it('round-trips records through a file, creating its directory', async () => {
    const file = join(dir, 'run', 'metrics.jsonl');
    const w = new MetricsWriter(file);
    const recs = [
      stepRecord(),
      epochRecord(),
      { type: 'event', v: 1, event: 'stop', wallTime: 9, reason: 'done' },
    ];
    for (const r of recs) w.append(r as never);
    w.close();
    w.close(); // idempotent
    const r = await readMetricsFile(file);
    expect(r.problems).toEqual([]);
    expect(r.records).toEqual(recs);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(4); // 3 lines + final newline
    expect(readdirSync(join(dir, 'run'))).toEqual(['metrics.jsonl']); // no temp file left
  });

  it('fills in the schema version v and validates before writing', async () => {
    const file = join(dir, 'metrics.jsonl');
    const w = new MetricsWriter(file);
    const { v: _v, ...noVersion } = stepRecord();
    expect(w.append(noVersion)).toMatchObject({ v: 1 });
    expect(() => w.append({ ...noVersion, loss: Number.NaN })).toThrow(RunlogSchemaError);
    expect(() => w.append({ ...noVersion, loss: Number.NaN })).toThrow(/loss: /);
    w.close();
    expect((await readMetricsFile(file)).records).toHaveLength(1); // the invalid one was not written
  });

  it('appending after reopening keeps the earlier lines', async () => {
    const file = join(dir, 'metrics.jsonl');
    const a = new MetricsWriter(file);
    a.append(stepRecord({ step: 1 }));
    a.append(stepRecord({ step: 2 }));
    a.close();
    const before = readFileSync(file, 'utf8');
    const b = new MetricsWriter(file);
    expect(b.size).toBe(Buffer.byteLength(before));
    b.append(stepRecord({ step: 3 }));
    b.close();
    expect(readFileSync(file, 'utf8').startsWith(before)).toBe(true);
    const r = await readMetricsFile(file);
    expect(r.records.map((x) => x.type === 'step' && x.step)).toEqual([1, 2, 3]);
  });

  it('after a crash mid-line, new lines stay readable and only the cut line is reported', async () => {
    const file = join(dir, 'metrics.jsonl');
    const a = new MetricsWriter(file);
    a.append(stepRecord({ step: 1 }));
    a.close();
    appendFileSync(file, '{"type":"step","v":1,"step":2,"wa'); // what a killed process leaves
    const b = new MetricsWriter(file);
    b.append(stepRecord({ step: 3 }));
    b.close();
    const r = await readMetricsFile(file);
    expect(r.records.map((x) => x.type === 'step' && x.step)).toEqual([1, 3]);
    expect(r.problems).toEqual([{ line: 2, message: expect.stringMatching(/^not valid JSON/) }]);
  });

  it('reports a truncated last line as incomplete, without throwing', async () => {
    const file = join(dir, 'metrics.jsonl');
    const line = JSON.stringify(stepRecord({ step: 2 }));
    writeFileSync(file, `${JSON.stringify(stepRecord({ step: 1 }))}\n${line.slice(0, 20)}`);
    const r = await readMetricsFile(file);
    expect(r.records).toHaveLength(1);
    expect(r.problems).toEqual([{ line: 2, message: expect.stringMatching(/^incomplete last line/) }]);
  });

  it('streams a file larger than one read chunk', async () => {
    const file = join(dir, 'big.jsonl');
    const w = new JsonlWriter(file, { fsyncEvery: 5000 });
    for (let i = 0; i < 20_000; i++) w.append(stepRecord({ step: i, loss: 1 / (i + 1) }));
    w.close();
    expect(statSync(file).size).toBeGreaterThan(64 * 1024 * 10);
    const r = await readJsonlFile(file);
    expect(r.problems).toEqual([]);
    expect(r.records).toHaveLength(20_000);
    expect(r.records[19_999]).toMatchObject({ step: 19_999 });
  });

  it('generic JsonlWriter writes any JSON; readJsonlFile with validate: false reads it back', async () => {
    const file = join(dir, 'any.jsonl');
    const w = new JsonlWriter<{ a: number | string }>(file);
    w.append({ a: 1 });
    w.append({ a: 'line\nbreak' }); // escaped by JSON, still one line
    w.flush();
    w.close();
    expect(() => w.append({ a: 2 })).toThrow(/after close/);
    const r = await readJsonlFile(file, { validate: false });
    expect(r.records).toEqual([{ a: 1 }, { a: 'line\nbreak' }]);
  });

  it('throws only when the file cannot be read at all', async () => {
    await expect(readJsonlFile(join(dir, 'missing.jsonl'))).rejects.toThrow(/ENOENT/);
  });
});
