import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedHosts, isAllowedHost, isLoopbackAddress } from '../src/server/allowed-hosts';
import { exposureWarning, parseArgs, stripLeadingDashDash } from '../src/server/cli';
import { listLogDir } from '../src/server/log-dir';
import { HOST, startViewerServer, type ViewerServer } from '../src/server/server';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures/logs');

/**
 * GET with the path sent as is (fetch would normalise `..` away before it reaches the server), to
 * `address` (a loopback one; 127.0.0.1 by default) with the Host header `host` (null: none; by default
 * node's, `127.0.0.1:<port>`).
 */
function get(
  port: number,
  path: string,
  { host, address = HOST }: { host?: string | null; address?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const headers = host ? { host } : {};
    const options = { host: address, port, path, method: 'GET', headers, setHost: host !== null };
    const req = request(options, (res) => {
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

  it.each([
    'evil.example.com',
    'evil.example.com:PORT',
    '127.0.0.1',
    'localhost',
    '127.0.0.1:OTHER',
    '[::1]:OTHER',
    'localhost.evil.example.com:PORT',
  ])('refuses any other Host header with 403, on every path (DNS rebinding): %s', async (forged) => {
    const host = forged.replace('PORT', `${server.port}`).replace('OTHER', `${server.port + 1}`);
    for (const path of [
      '/api/runs',
      '/api/snapshot',
      '/api/events',
      '/api/files/cmp/run-a/metrics.jsonl',
      '/',
      '/index.html',
      '/api/nope',
    ]) {
      const r = await get(server.port, path, { host });
      expect(r.status, path).toBe(403);
      expect(JSON.parse(r.body).error).toMatch(/^Host .* is not allowed .*--host <address>/);
      expect(r.body).not.toContain('run-a');
      expect(r.body).not.toContain('viewer</html>');
    }
  });

  it('refuses a request without a Host header', async () => {
    const r = await get(server.port, '/api/runs', { host: null });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.body).not.toContain('run-a');
  });

  it.each(['127.0.0.1:PORT', 'localhost:PORT', '[::1]:PORT', 'LocalHost:PORT'])(
    'answers the loopback Host headers with its port: %s',
    async (name) => {
      const host = name.replace('PORT', `${server.port}`);
      expect((await get(server.port, '/api/runs', { host })).status).toBe(200);
      expect(await get(server.port, '/', { host })).toEqual({ status: 200, body: '<html>viewer</html>' });
    },
  );

  it('binds the `host` option and prints its URL, with the same Host check', async () => {
    const s = await startViewerServer({
      logDir: join(tmp, 'logs'),
      staticDir: join(tmp, 'web'),
      port: 0,
      host: 'localhost',
    });
    try {
      expect(s.url).toBe(`http://localhost:${s.port}/`);
      const address = 'localhost';
      expect((await get(s.port, '/api/runs', { address, host: `localhost:${s.port}` })).status).toBe(200);
      expect((await get(s.port, '/api/runs', { address, host: `evil.example.com:${s.port}` })).status).toBe(
        403,
      );
    } finally {
      await s.close();
    }
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

describe('allowed Host headers', () => {
  it('are the loopback names and the bound address, with the port, compared case-insensitively', () => {
    const bound = { host: '127.0.0.1', port: 6007 };
    expect(allowedHosts(bound)).toEqual(['127.0.0.1:6007', 'localhost:6007', '[::1]:6007']);
    expect(isAllowedHost('LOCALHOST:6007', bound)).toBe(true);
    expect(isAllowedHost('[::1]:6007', bound)).toBe(true);
    for (const h of [
      undefined,
      '',
      'localhost',
      '127.0.0.1:6008',
      'evil.example.com:6007',
      '[::1]',
      '::1:6007',
    ])
      expect(isAllowedHost(h, bound), String(h)).toBe(false);
  });

  it('add the --host address (IPv6 in brackets), and accept any Host for 0.0.0.0 and ::', () => {
    const lan = { host: '192.168.1.5', port: 80 };
    expect(isAllowedHost('192.168.1.5:80', lan)).toBe(true);
    expect(isAllowedHost('localhost:80', lan)).toBe(true);
    expect(isAllowedHost('192.168.1.6:80', lan)).toBe(false);
    expect(isAllowedHost('myBox.lan:80', { host: 'mybox.lan', port: 80 })).toBe(true);
    expect(isAllowedHost('[FE80::1]:80', { host: 'fe80::1', port: 80 })).toBe(true);
    expect(allowedHosts({ host: 'localhost', port: 1 })).toEqual(['127.0.0.1:1', 'localhost:1', '[::1]:1']);
    for (const host of ['0.0.0.0', '::']) {
      expect(allowedHosts({ host, port: 80 })).toBeNull();
      expect(isAllowedHost('evil.example.com', { host, port: 80 })).toBe(true);
    }
  });

  it('tell loopback addresses from network ones', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1'])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '192.168.1.5', 'fe80::1', 'example.com', '128.0.0.1'])
      expect(isLoopbackAddress(a), a).toBe(false);
  });
});

/** parseArgs with commander's output captured; the thrown CommanderError, if any. */
function parse(args: string[]): { opts?: unknown; error?: CommanderError; out: string; err: string } {
  let out = '';
  let err = '';
  const output = {
    writeOut: (s: string) => {
      out += s;
    },
    writeErr: (s: string) => {
      err += s;
    },
  };
  try {
    return { opts: parseArgs(args, output), out, err };
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { error: e, out, err };
  }
}

/** Runs the built CLI to its exit (for usage errors). */
function runCli(
  cli: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', fail);
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
}

describe('bmp-viewer command line', () => {
  it('parses --log-dir, --port and --host (default 127.0.0.1; [::1] written as in a URL)', () => {
    expect(parse(['--log-dir', 'x']).opts).toEqual({ logDir: 'x', port: 6007, host: '127.0.0.1' });
    expect(parse(['--', '--log-dir', 'x', '--host', '[::1]', '--port', '0']).opts).toEqual({
      logDir: 'x',
      port: 0,
      host: '::1',
    });
  });

  it('reports an unknown option as such (not as a missing --log-dir), with the help, exit code 2', () => {
    for (const args of [['--bogus'], ['--bogus', '--log-dir', 'x'], ['--log-dir', 'x', '--bogus']]) {
      const r = parse(args);
      expect(r.error?.code, args.join(' ')).toBe('commander.unknownOption');
      expect(r.error?.exitCode).toBe(2);
      expect(r.err).toContain("error: unknown option '--bogus'");
      expect(r.err).toContain('Usage: bmp-viewer [options]');
      expect(r.err).not.toContain('required option');
    }
  });

  it('reports a missing --log-dir and a bad --port, exit code 2', () => {
    const missing = parse(['--port', '1']);
    expect(missing.error?.exitCode).toBe(2);
    expect(missing.err).toContain("error: required option '--log-dir <dir>' not specified");
    const bad = parse(['--log-dir', 'x', '--port', 'abc']);
    expect(bad.error?.exitCode).toBe(2);
    expect(bad.err).toContain("error: option '--port <p>' argument 'abc' is invalid");
    const help = parse(['--help']);
    expect(help.error?.exitCode).toBe(0);
    expect(help.out).toContain('--host <addr>');
  });

  it('warns that a non-loopback --host exposes the runs', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1'])
      expect(exposureWarning(host, '/runs'), host).toBeNull();
    expect(exposureWarning('192.168.1.5', '/runs')).toBe(
      'bmp-viewer: warning: the run logs and checkpoints under /runs become readable by anyone who can reach 192.168.1.5',
    );
    expect(exposureWarning('0.0.0.0', '/runs')).toMatch(
      /readable by anyone .*every network interface.*any Host header/,
    );
    expect(exposureWarning('::', '/runs')).toMatch(/any Host header is accepted/);
  });

  it('accepts a stray -- before the flags', () => {
    expect(stripLeadingDashDash(['--', '--log-dir', 'x'])).toEqual(['--log-dir', 'x']);
    expect(stripLeadingDashDash(['--log-dir', 'x'])).toEqual(['--log-dir', 'x']);
  });

  // The built CLI: turbo builds the viewer before its tests, so a missing one is a failure, not a skip.
  const cli = join(here, '../dist/server/cli.js');
  const builtCli = () => {
    if (!existsSync(cli)) {
      throw new Error(`${cli} is missing: build the viewer first (pnpm --filter @bmp/viewer build)`);
    }
    return cli;
  };
  it('starts from the built CLI with `-- --log-dir <dir> --port 0` and serves the runs', async () => {
    const child = spawn(process.execPath, [builtCli(), '--', '--log-dir', fixture, '--port', '0'], {
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
  });

  it('the built CLI exits 2 on usage errors and names the unknown option', async () => {
    const bogus = await runCli(builtCli(), ['--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/^error: unknown option '--bogus'\n\nUsage: bmp-viewer \[options\]/);
    expect(bogus.stderr).not.toContain("--log-dir <dir>' not specified");
    const missing = await runCli(cli, ['--port', '0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: required option '--log-dir <dir>' not specified\n/);
  });

  it('the built CLI serves on --host localhost without a warning', async () => {
    const child = spawn(
      process.execPath,
      [builtCli(), '--log-dir', fixture, '--port', '0', '--host', 'localhost'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    try {
      const port = await new Promise<number>((ok, fail) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          const m = /open http:\/\/localhost:(\d+)\//.exec(out);
          if (m) ok(Number(m[1]));
        });
        child.on('exit', (code) => fail(new Error(`exited with ${code}: ${stderr}`)));
      });
      const address = 'localhost';
      expect((await get(port, '/api/runs', { address, host: `localhost:${port}` })).status).toBe(200);
      expect((await get(port, '/api/runs', { address, host: 'evil.example.com' })).status).toBe(403);
      expect(stderr).toBe('');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
