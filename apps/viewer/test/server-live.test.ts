/**
 * Live following, server side: `/api/snapshot` and the change feed `/api/events` (Server-Sent Events fed by
 * polling the log directory), over a temporary log directory that the test writes to.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewerServer, type ViewerServer } from '../src/server/server';
import { LogDirPoller, type LogDirSnapshot } from '../src/server/watch';
import { epochLine } from './helpers';

/** An open `/api/events` stream: its snapshots as they come, and a way to wait for the next ones. */
interface EventStream {
  status: number;
  contentType: string | undefined;
  snapshots: LogDirSnapshot[];
  next(pred: (s: LogDirSnapshot) => boolean, timeoutMs?: number): Promise<LogDirSnapshot>;
  close(): void;
}

function openEvents(port: number, host = `127.0.0.1:${port}`): Promise<EventStream> {
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/api/events', headers: { host } },
      (res: IncomingMessage) => {
        const snapshots: LogDirSnapshot[] = [];
        const waiters: (() => void)[] = [];
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const lines = block.split('\n');
            if (lines.includes('event: snapshot')) {
              const data = lines.find((l) => l.startsWith('data: '));
              if (data) snapshots.push(JSON.parse(data.slice('data: '.length)));
              for (const w of waiters.splice(0)) w();
            }
            end = buffer.indexOf('\n\n');
          }
        });
        ok({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          snapshots,
          next(pred, timeoutMs = 5000) {
            return new Promise((done, failWait) => {
              const deadline = setTimeout(
                () =>
                  failWait(new Error(`no matching snapshot in ${timeoutMs} ms (${snapshots.length} seen)`)),
                timeoutMs,
              );
              const check = () => {
                const s = snapshots.find(pred);
                if (s) {
                  clearTimeout(deadline);
                  done(s);
                } else waiters.push(check);
              };
              check();
            });
          },
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') fail(e);
    });
    req.end();
  });
}

let tmp: string;
let logs: string;
let server: ViewerServer;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bmp-viewer-live-'));
  logs = join(tmp, 'logs');
  mkdirSync(join(logs, 'cmp', 'run-a'), { recursive: true });
  mkdirSync(join(tmp, 'web'));
  writeFileSync(join(logs, 'cmp', 'run-a', 'config.json'), '{}');
  writeFileSync(join(logs, 'cmp', 'run-a', 'metrics.jsonl'), `${epochLine({ epoch: 1 })}\n`);
  server = await startViewerServer({ logDir: logs, staticDir: join(tmp, 'web'), port: 0, pollMs: 100 });
});

afterAll(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const runNames = (s: LogDirSnapshot) => s.runs.map((r) => r.name);
const metricsSize = (s: LogDirSnapshot, run: string) =>
  s.runs.find((r) => r.name === run)?.stats['metrics.jsonl']?.size;

describe('following the log directory', () => {
  it('/api/snapshot lists the runs with their files, sizes, mtimes and the server clock', async () => {
    const before = Date.now();
    const res = await fetch(`${server.url}api/snapshot`);
    expect(res.status).toBe(200);
    const s = (await res.json()) as LogDirSnapshot;
    expect(s.exists).toBe(true);
    expect(runNames(s)).toEqual(['cmp/run-a']);
    expect(s.runs[0].files).toEqual(['config.json', 'metrics.jsonl']);
    expect(s.runs[0].stats['config.json'].size).toBe(2);
    expect(metricsSize(s, 'cmp/run-a')).toBe(epochLine({ epoch: 1 }).length + 1);
    expect(s.runs[0].stats['metrics.jsonl'].mtimeMs).toBeGreaterThan(0);
    expect(s.now).toBeGreaterThanOrEqual(before);
  });

  it('/api/events sends a snapshot on connecting, then one per change: grown files and new runs', async () => {
    const stream = await openEvents(server.port);
    try {
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      const first = await stream.next(() => true);
      expect(runNames(first)).toEqual(['cmp/run-a']);
      const size0 = metricsSize(first, 'cmp/run-a')!;

      const more = `${epochLine({ epoch: 2 })}\n`;
      appendFileSync(join(logs, 'cmp', 'run-a', 'metrics.jsonl'), more);
      const grown = await stream.next((s) => metricsSize(s, 'cmp/run-a') === size0 + more.length);
      expect(runNames(grown)).toEqual(['cmp/run-a']);

      mkdirSync(join(logs, 'cmp', 'run-b'));
      writeFileSync(join(logs, 'cmp', 'run-b', 'config.json'), '{}');
      writeFileSync(join(logs, 'cmp', 'run-b', 'metrics.jsonl'), '');
      // (A poll may fall between the two writes: the run first shows with config.json alone.)
      const added = await stream.next((s) =>
        s.runs.some((r) => r.name === 'cmp/run-b' && r.files.length === 2),
      );
      expect(added.runs.find((r) => r.name === 'cmp/run-b')?.stats['metrics.jsonl']).toMatchObject({
        size: 0,
      });

      // Nothing changes: no more snapshots (polls that find the same directory stay quiet).
      const count = stream.snapshots.length;
      await new Promise((r) => setTimeout(r, 400));
      expect(stream.snapshots.length).toBe(count);
    } finally {
      stream.close();
    }
  });

  it('serves what was appended to a file: Range bytes=<start>-', async () => {
    const path = join(logs, 'cmp', 'run-r', 'metrics.jsonl');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'line one\nline two\n');
    const url = `${server.url}api/files/cmp/run-r/metrics.jsonl`;
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(await whole.text()).toBe('line one\nline two\n');
    const tail = await fetch(url, { headers: { range: 'bytes=9-' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe('bytes 9-17/18');
    expect(await tail.text()).toBe('line two\n');
    const past = await fetch(url, { headers: { range: 'bytes=18-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */18');
    // Other range forms are not understood: the whole file.
    expect((await fetch(url, { headers: { range: 'bytes=0-3' } })).status).toBe(200);
    rmSync(dirname(path), { recursive: true });
  });

  it('keeps the Host check on the change feed', async () => {
    const stream = await openEvents(server.port, `evil.example.com:${server.port}`);
    stream.close();
    expect(stream.status).toBe(403);
  });

  it('polls only while someone listens, one poll at a time', async () => {
    const poller = new LogDirPoller(logs, 20);
    const seen: LogDirSnapshot[] = [];
    const stop = poller.subscribe((s) => seen.push(s));
    await expect.poll(() => seen.length).toBe(1); // the first poll
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.length).toBe(1); // the directory did not change since
    const second: LogDirSnapshot[] = [];
    const stop2 = poller.subscribe((s) => second.push(s));
    expect(second).toHaveLength(1); // a late listener gets the current snapshot at once
    stop();
    stop2();
    appendFileSync(join(logs, 'cmp', 'run-a', 'metrics.jsonl'), `${epochLine({ epoch: 3 })}\n`);
    await new Promise((r) => setTimeout(r, 150));
    expect(seen.length).toBe(1);
    expect(second.length).toBe(1);
  });

  it('closes with event streams open', async () => {
    const s = await startViewerServer({ logDir: logs, staticDir: join(tmp, 'web'), port: 0, pollMs: 50 });
    const stream = await openEvents(s.port);
    await stream.next(() => true);
    await s.close();
    stream.close();
  });
});
