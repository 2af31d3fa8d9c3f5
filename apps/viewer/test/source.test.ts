import { describe, expect, it } from 'vitest';
import { filesSource, groupPickedFiles, loadAnalysis, loadRun, runProblems } from '../src/web/source';
import { epochLine } from './helpers';

const blob = (text: string) => new Blob([text]);

describe('parsing run files (shared by the server and the file picker)', () => {
  it('reports malformed, partial and invalid lines by number and skips them', async () => {
    const metrics = [
      epochLine({ epoch: 0 }),
      '{"type":"epoch", "v": 1, oops',
      JSON.stringify({ type: 'epoch', v: 1, epoch: 1 }),
      epochLine({ epoch: 2 }),
      '{"type":"step","v":1,"st',
    ].join('\n');
    const source = filesSource([{ path: 'cmp/run1/metrics.jsonl', file: blob(metrics) }]);
    const listing = await source.list();
    expect(listing.runs).toEqual([{ name: 'cmp/run1', files: ['metrics.jsonl'] }]);
    const run = await loadRun(source, listing.runs[0]);
    expect(run.records.map((r) => (r.type === 'epoch' ? r.epoch : -1))).toEqual([0, 2]);
    const problems = runProblems(run);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^metrics\.jsonl line 2: not valid JSON/);
    expect(problems[1]).toMatch(/^metrics\.jsonl line 3: .*trainLoss/);
    expect(problems[2]).toMatch(/^metrics\.jsonl line 5: incomplete last line/);
  });

  it('groups picked files into runs by directory', () => {
    const g = groupPickedFiles([
      { path: 'logs/a/config.json', file: blob('{}') },
      { path: 'logs/a/metrics.jsonl', file: blob('') },
      { path: 'logs/a/checkpoints/state.json', file: blob('') },
      { path: 'metrics.jsonl', file: blob('') },
      { path: 'other.jsonl', file: blob('') },
      { path: 'notes.txt', file: blob('') },
    ]);
    expect([...g.keys()].sort()).toEqual(['logs/a', 'other', 'picked']);
    expect([...g.get('logs/a')!.keys()].sort()).toEqual(['config.json', 'metrics.jsonl']);
    expect([...g.get('other')!.keys()]).toEqual(['metrics.jsonl']);
  });

  it('says what is wrong with an analysis.json, naming the file and field', async () => {
    const source = filesSource([
      {
        path: 'r/analysis.json',
        file: blob(JSON.stringify({ schemaVersion: 1, createdAt: 'x', blocks: [{}] })),
      },
      { path: 's/analysis.json', file: blob('{nope') },
    ]);
    const bad = await loadAnalysis(source, 'r');
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toContain('r/analysis.json');
      expect(bad.error).toContain('blocks[0].name');
      expect(bad.error).toContain('claims');
    }
    const notJson = await loadAnalysis(source, 's');
    expect(notJson.ok).toBe(false);
    if (!notJson.ok) expect(notJson.error).toMatch(/s\/analysis\.json is not valid JSON/);
    const missing = await loadAnalysis(source, 'none');
    expect(missing).toEqual({ ok: false, error: 'none has no analysis.json' });
  });
});
