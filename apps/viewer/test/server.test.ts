import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripLeadingDashDash } from '../src/server/cli';
import { listLogDir } from '../src/server/log-dir';
import { HOST, startViewerServer, type ViewerServer } from '../src/server/server';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures/logs');

/** GET with the path sent as is (fetch would normalise `..` away before it reaches the server). */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: HOST, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

let tmp: string;
let server: ViewerServer;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bmp-viewer-server-'));
  const logs = join(tmp, 'logs');
  const web = join(tmp, 'web');
  mkdirSync(join(logs, 'cmp', 'run-a'), { recursive: true });
  mkdirSync(join(logs, 'solo'), { recursive: true });
  mkdirSync(join(logs, 'cmp', 'run-a', 'checkpoints'), { recursive: true });
  mkdirSync(join(logs, 'not-a-run'), { recursive: true });
  mkdirSync(web);
  writeFileSync(join(logs, 'cmp', 'run-a', 'metrics.jsonl'), '{"a":1}\n');
  writeFileSync(join(logs, 'cmp', 'run-a', 'config.json'), '{}');
  writeFileSync(join(logs, 'solo', 'analysis.json'), '{}');
  writeFileSync(join(logs, 'not-a-run', 'notes.txt'), 'x');
  writeFileSync(join(tmp, 'secret.txt'), 'TOP-SECRET-CONTENT');
  symlinkSync(join(tmp, 'secret.txt'), join(logs, 'solo', 'link.txt'));
  writeFileSync(join(web, 'index.html'), '<html>viewer</html>');
  server = await startViewerServer({ logDir: logs, staticDir: web, port: 0 });
});

afterAll(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('viewer server', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect((server.server.address() as { address: string }).address).toBe('127.0.0.1');
  });

  it('lists the run directories and which run files they hold', async () => {
    const r = await get(server.port, '/api/runs');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body);
    expect(body.exists).toBe(true);
    expect(body.runs).toEqual([
      { name: 'cmp/run-a', files: ['config.json', 'metrics.jsonl'] },
      { name: 'solo', files: ['analysis.json'] },
    ]);
  });

  it('serves run files and the web app', async () => {
    expect(await get(server.port, '/api/files/cmp/run-a/metrics.jsonl')).toEqual({
      status: 200,
      body: '{"a":1}\n',
    });
    expect((await get(server.port, '/')).body).toBe('<html>viewer</html>');
    expect((await get(server.port, '/api/files/cmp/run-a/nope.json')).status).toBe(404);
  });

  it.each([
    '/api/files/../secret.txt',
    '/api/files/%2e%2e/secret.txt',
    '/api/files/cmp/..%2f..%2fsecret.txt',
    '/api/files/solo/link.txt',
    '/api/files/%00',
    '/../secret.txt',
  ])('refuses to serve outside the log directory: %s', async (path) => {
    const r = await get(server.port, path);
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('TOP-SECRET-CONTENT');
  });

  it('reports a missing log directory as such (the page shows an empty state)', async () => {
    const missing = join(tmp, 'does-not-exist');
    expect(await listLogDir(missing)).toEqual({ logDir: missing, exists: false, runs: [] });
    const s = await startViewerServer({ logDir: missing, staticDir: join(tmp, 'web'), port: 0 });
    try {
      const r = await get(s.port, '/api/runs');
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ logDir: missing, exists: false, runs: [] });
    } finally {
      await s.close();
    }
  });

  it('lists the committed fixture (a real bmp-train compare)', async () => {
    const l = await listLogDir(fixture);
    expect(l.runs.map((r) => r.name)).toEqual([
      'fx/scale-amended-lr0.02-seed0',
      'fx/scale-amended-lr0.02-seed1',
      'fx/sgd-lr0.1-seed0',
      'fx/sgd-lr0.1-seed1',
    ]);
    expect(l.runs[2].files).toContain('analysis.json');
  });
});

describe('bmp-viewer command line', () => {
  it('accepts a stray -- before the flags', () => {
    expect(stripLeadingDashDash(['--', '--log-dir', 'x'])).toEqual(['--log-dir', 'x']);
    expect(stripLeadingDashDash(['--log-dir', 'x'])).toEqual(['--log-dir', 'x']);
  });

  const cli = join(here, '../dist/server/cli.js');
  it.skipIf(!existsSync(cli))(
    'starts from the built CLI with `-- --log-dir <dir> --port 0` and serves the runs',
    async () => {
      const child = spawn(process.execPath, [cli, '--', '--log-dir', fixture, '--port', '0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        const url = await new Promise<string>((ok, fail) => {
          let out = '';
          child.stdout.on('data', (c) => {
            out += c;
            const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
            if (m) ok(m[1]);
          });
          child.on('exit', (code) => fail(new Error(`exited with ${code}`)));
        });
        const body = await (await fetch(`${url}api/runs`)).json();
        expect(body.runs).toHaveLength(4);
      } finally {
        child.kill('SIGTERM');
      }
    },
  );
});
