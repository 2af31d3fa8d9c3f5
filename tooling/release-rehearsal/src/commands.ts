/** Child commands of the rehearsal: run to the end with their output kept, and a clear error otherwise. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * The environment for child commands, without the `npm_*` variables of the `pnpm test` script runner
 * (npm would read them as its own config; pnpm's would point the children at this workspace), nor its
 * INIT_CWD (where relative paths of bmp-train resolve).
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_|INIT_CWD$)/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export function run(command: string, args: string[], o: RunOptions): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: o.cwd,
      env: o.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 5 * 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not start: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs and throws, with the last lines of its output, unless it exits 0. */
export async function runOk(command: string, args: string[], o: RunOptions): Promise<Ran> {
  const r = await run(command, args, o);
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`\`${command} ${args.join(' ')}\` in ${o.cwd} exited with ${r.code}:\n${tail}`);
  }
  return r;
}

/**
 * Removes npx's installs (in npm's cache) that hold `name`: npx runs an install it already has for the
 * same spec without asking the registry, and a rehearsal republishes the same version every time.
 * Returns how many were removed.
 */
export function forgetNpxInstalls(name: string): number {
  const cache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8', env: cleanEnv() }).trim();
  const npx = join(cache, '_npx');
  if (!existsSync(npx)) return 0;
  let removed = 0;
  for (const dir of readdirSync(npx)) {
    const manifest = join(npx, dir, 'package.json');
    if (existsSync(manifest) && name in (JSON.parse(readFileSync(manifest, 'utf8')).dependencies ?? {})) {
      rmSync(join(npx, dir), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
