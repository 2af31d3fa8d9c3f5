import { describe, expect, it } from 'vitest';
import { RunColors } from '../src/web/colors';
import {
  filesSource,
  forgetMetricsReads,
  groupPickedFiles,
  holdPendingTail,
  type LoadedRun,
  loadAnalysis,
  loadLiveRun,
  loadRun,
  PENDING_TAIL_MS,
  type RunSource,
  releaseStalePendingTails,
  runProblems,
} from '../src/web/source';
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

describe('live following: an incomplete last line of a run being written', () => {
  const cut = '{"type":"epoch","v":1,"epo';
  const loaded = async (text: string): Promise<LoadedRun> => {
    const source = filesSource([{ path: 'cmp/run1/metrics.jsonl', file: blob(text) }]);
    return loadRun(source, (await source.list()).runs[0]);
  };

  it('is held back while the file changed less than 10 s ago, and reported once it stays', async () => {
    const run = await loaded(`${epochLine({ epoch: 1 })}\n${cut}`);
    expect(runProblems(run)).toEqual([
      'metrics.jsonl line 2: incomplete last line (no newline at the end and not valid JSON: the write was probably cut short) (skipped)',
    ]);
    holdPendingTail(run, 2000, 100_000);
    expect(runProblems(run)).toEqual([]);
    expect(run.pendingTail?.since).toBe(98_000);
    expect(releaseStalePendingTails([run], 98_000 + PENDING_TAIL_MS - 1)).toBe(false);
    expect(runProblems(run)).toEqual([]);
    expect(releaseStalePendingTails([run], 98_000 + PENDING_TAIL_MS)).toBe(true);
    expect(runProblems(run)).toHaveLength(1);
    expect(runProblems(run)[0]).toContain('line 2: incomplete last line');
    expect(run.pendingTail).toBeUndefined();
  });

  it('is reported at once when the file is older than 10 s or the run has stopped', async () => {
    const old = await loaded(`${epochLine({ epoch: 1 })}\n${cut}`);
    holdPendingTail(old, PENDING_TAIL_MS);
    expect(runProblems(old)).toHaveLength(1);
    const stopped = await loaded(
      `${epochLine({ epoch: 1 })}\n${JSON.stringify({ type: 'event', v: 1, event: 'stop', wallTime: 1, reason: 'completed' })}\n${cut}`,
    );
    holdPendingTail(stopped, 0);
    expect(runProblems(stopped)).toHaveLength(1);
    // Any other bad line is reported at once, whatever the file's age.
    const garbage = await loaded(`${epochLine({ epoch: 1 })}\nnot json\n`);
    holdPendingTail(garbage, 0);
    expect(runProblems(garbage)).toHaveLength(1);
    expect(runProblems(garbage)[0]).toMatch(/^metrics.jsonl line 2: not valid JSON/);
  });
});

describe('run colours while following live', () => {
  it('keeps the colours of the runs seen and gives new runs the next ones', () => {
    const before = new RunColors(['b', 'd']);
    const after = before.withRuns(['a', 'b', 'c', 'd']);
    expect(after.get('b')).toBe(before.get('b'));
    expect(after.get('d')).toBe(before.get('d'));
    expect(new Set(['a', 'b', 'c', 'd'].map((n) => after.get(n))).size).toBe(4);
    expect(after.get('a')).toBe(new RunColors(['1', '2', '3']).get('3'));
  });
});

describe('live following: reading only what was appended to metrics.jsonl', () => {
  /** A server-like source over one file whose bytes the test changes; it records the offsets asked. */
  function fakeServer() {
    const file = { bytes: new Uint8Array(), ino: 1, mtimeMs: 0 };
    const offsets: number[] = [];
    const source: RunSource = {
      kind: 'server',
      list: async () => ({ label: 'x', exists: true, runs: [] }),
      readText: async () => undefined,
      readBytesFrom: async (_run, _file, offset) => {
        offsets.push(offset);
        if (offset > 0 && offset >= file.bytes.length) return null; // 416
        return file.bytes.slice(offset);
      },
    };
    const write = (text: string, replace = false) => {
      const add = new TextEncoder().encode(text);
      file.bytes = replace ? add : new Uint8Array([...file.bytes, ...add]);
      if (replace) file.ino++;
      file.mtimeMs++;
    };
    const load = () =>
      loadLiveRun(
        source,
        {
          name: 'cmp/r',
          files: ['metrics.jsonl'],
          stats: { 'metrics.jsonl': { size: file.bytes.length, mtimeMs: file.mtimeMs, ino: file.ino } },
        },
        file.mtimeMs, // the server's clock: the file was written just now
      );
    return { write, load, offsets };
  }
  const epochs = (run: LoadedRun) => run.records.map((r) => (r.type === 'epoch' ? r.epoch : -1));

  it('asks for the bytes after the last complete line, and re-reads a line being written', async () => {
    forgetMetricsReads();
    const f = fakeServer();
    const one = `${epochLine({ epoch: 1, note: 'é' })}\n`;
    f.write(one);
    expect(epochs(await f.load())).toEqual([1]);
    const two = epochLine({ epoch: 2 });
    f.write(two.slice(0, 20));
    const half = await f.load();
    expect(epochs(half)).toEqual([1]);
    expect(half.pendingTail).toBeDefined(); // a line being written: held back
    f.write(`${two.slice(20)}\n`);
    expect(epochs(await f.load())).toEqual([1, 2]);
    const oneBytes = new TextEncoder().encode(one).length;
    expect(f.offsets).toEqual([0, oneBytes, oneBytes]);
    // Unchanged: nothing fetched.
    expect(epochs(await f.load())).toEqual([1, 2]);
    expect(f.offsets).toHaveLength(3);
  });

  it('reads the file whole again when it was replaced or got shorter', async () => {
    forgetMetricsReads();
    const f = fakeServer();
    f.write(`${epochLine({ epoch: 1 })}\n${epochLine({ epoch: 2 })}\n`);
    expect(epochs(await f.load())).toEqual([1, 2]);
    f.write(`${epochLine({ epoch: 7 })}\n`, true); // shorter, another inode
    expect(epochs(await f.load())).toEqual([7]);
    f.write(`${epochLine({ epoch: 8 })}\n${epochLine({ epoch: 9 })}\n${epochLine({ epoch: 10 })}\n`, true);
    expect(epochs(await f.load())).toEqual([8, 9, 10]); // longer, but another inode
    expect(f.offsets).toEqual([0, 0, 0]);
  });
});
