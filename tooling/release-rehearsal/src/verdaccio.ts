/**
 * A private npm registry for the rehearsal: Verdaccio on 127.0.0.1 with a free port, its storage in a
 * temporary directory. `@bmp/*` lives only there (never proxied, so nothing is taken from npmjs by
 * mistake); every other package is proxied from the upstream registry (npm's configured one).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cleanEnv } from './commands';

export interface Registry {
  url: string;
  /** A token of the user that publishes. */
  token: string;
  /** The `.npmrc` lines that point npm and pnpm at it, with the token. */
  npmrc: string;
  stop(): Promise<void>;
}

/** The verdaccio executable: BMP_VERDACCIO, else `verdaccio` on PATH; null when neither exists. */
export function findVerdaccio(): string | null {
  const named = process.env.BMP_VERDACCIO;
  if (named) return named;
  try {
    return execFileSync('sh', ['-c', 'command -v verdaccio'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function upstream(): string {
  try {
    return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8', env: cleanEnv() }).trim();
  } catch {
    return 'https://registry.npmjs.org/';
  }
}

export async function startVerdaccio(bin: string, dir: string): Promise<Registry> {
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `storage: ${join(dir, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(dir, 'htpasswd')}`,
      '    max_users: 10',
      'uplinks:',
      '  upstream:',
      `    url: ${upstream()}`,
      '    timeout: 120s',
      'packages:',
      "  '@bmp/*':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    proxy: upstream',
      'max_body_size: 200mb',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}/`;
  const child: ChildProcess = spawn(bin, ['--config', config, '--listen', `127.0.0.1:${port}`], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c;
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c;
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode != null || child.signalCode != null) return resolve();
      child.once('close', () => resolve());
      child.kill('SIGTERM');
    });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode != null) throw new Error(`verdaccio exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`verdaccio did not answer on ${url} within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // What `npm adduser` does: the registry answers with a token.
  const user = 'rehearsal';
  const res = await fetch(`${url}-/user/org.couchdb.user:${user}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: user, password: 'rehearsal-password', type: 'user', roles: [] }),
  });
  const body = (await res.json()) as { token?: string; error?: string };
  if (!res.ok || !body.token) {
    await stop();
    throw new Error(`verdaccio refused the user: ${res.status} ${body.error ?? ''}`);
  }
  const host = url.replace(/^http:/, '');
  return {
    url,
    token: body.token,
    npmrc: `registry=${url}\n${host}:_authToken=${body.token}\n`,
    stop,
  };
}
