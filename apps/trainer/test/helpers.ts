import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export function tempDir(prefix = 'bmp-trainer-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI; `onLine` sees each stdout line (and may return a signal to send, once).
 * `command` replaces `node` (e.g. to run it as another user).
 */
export function runCli(
  args: string[],
  options: {
    cwd?: string;
    onLine?: (line: string) => 'SIGINT' | 'SIGTERM' | undefined;
    env?: Record<string, string>;
    command?: string[];
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = options.command ?? [process.execPath];
    const child = spawn(cmd, [...pre, CLI, ...args], {
      cwd: options.cwd ?? tmpdir(),
      env: { ...process.env, INIT_CWD: options.cwd ?? tmpdir(), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const sig = sent ? undefined : options.onLine?.(line);
        if (sig) {
          sent = true;
          child.kill(sig);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Tiny synthetic settings for fast runs. */
export const TINY = [
  '--dataset',
  'synthetic',
  '--image-shape',
  '8x8x1',
  '--synthetic-count',
  '240',
  '--batch-size',
  '40',
  '--backend',
  'wasm',
];
export const TINY_MLP = [...TINY, '--model', 'mlp', '--width', '16'];

/** The tiny settings above as a sweep file's `base` (sweep and queue tests). */
export const TINY_SWEEP_BASE = {
  dataset: 'synthetic',
  'image-shape': '8x8x1',
  'synthetic-count': 240,
  'batch-size': 40,
  backend: 'wasm',
  model: 'mlp',
  width: 16,
};
