import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunlogSchemaError, readComparePlan, safeParseComparePlan } from '../src/node';

const plan = {
  kind: 'bmp-train-compare',
  version: 1,
  compareId: 'c',
  dir: '/runs/c',
  createdAt: '2026-12-05T08:00:00.000Z',
  runs: [{ runName: 'sgd-lr0.1-seed0', optimizer: 'sgd', lr: 0.1, seed: 0, settings: { epochs: 3 } }],
  status: 'running',
};

describe('compare.json', () => {
  it('accepts a plan as bmp-train writes it, extra fields kept', () => {
    const r = safeParseComparePlan({ ...plan, summary: [] });
    expect(r.ok).toBe(true);
    if (r.ok) expect((r.value as { summary?: unknown }).summary).toEqual([]);
  });

  it('names the field at fault', () => {
    const bad = { ...plan, runs: [{ ...plan.runs[0], optimizer: 'adam' }] };
    const r = safeParseComparePlan(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^runs\[0\]\.optimizer: /);
    const kind = safeParseComparePlan({ ...plan, kind: 'other' });
    expect(kind.ok).toBe(false);
    if (!kind.ok) expect(kind.error).toMatch(/^kind: /);
  });

  it('readComparePlan names the file of an invalid or broken plan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-compare-'));
    const file = join(dir, 'compare.json');
    writeFileSync(file, JSON.stringify({ ...plan, runs: [] }));
    await expect(readComparePlan(file)).rejects.toThrow(RunlogSchemaError);
    await expect(readComparePlan(file)).rejects.toThrow(`${file}: runs: `);
    writeFileSync(file, '{"kind": ');
    await expect(readComparePlan(file)).rejects.toThrow(`${file}: not valid JSON`);
  });
});
