/** `bmp-train worker` processes for the queue tests: their output, a wait for a line, their exit. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './helpers';

export interface WorkerProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the first line (past or future) matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWorker(args: string[], env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, [CLI, 'worker', ...args], {
    cwd: tmpdir(),
    env: { ...process.env, INIT_CWD: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: Array<{ re: RegExp; res: (m: RegExpMatchArray) => void }> = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = text.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.res(m);
      }
    }
  };
  child.stdout!.on('data', (c: Buffer) => {
    text += c;
    check();
  });
  child.stderr!.on('data', (c: Buffer) => {
    text += c;
    check();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('close', (code, signal) => res({ code, signal })),
  );
  return {
    child,
    output: () => text,
    exited,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((res, rej) => {
        const t = setTimeout(
          () => rej(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${text}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          res: (m) => {
            clearTimeout(t);
            res(m);
          },
        });
        check();
      });
    },
  };
}

/** Stops workers still running (SIGKILL) and waits for them. */
export async function killAll(workers: WorkerProcess[]): Promise<void> {
  for (const w of workers)
    if (w.child.exitCode == null && w.child.signalCode == null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
}

export async function waitForFile(file: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// timings, and the name of the comparison (the tests compare two comparisons of different names)
const VOLATILE = new Set(['wallTime', 'imagesPerSecond', 'epochSeconds', 'compareId']);

/** A run's step and epoch records without their timings (what an interruption must not change). */
export function stableMetrics(runDir: string): Array<Record<string, unknown>> {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.type !== 'event')
    .map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE.has(k))));
}

/** The events (start, resume, interrupt, stop) of a run. */
export function runEvents(runDir: string): string[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string; event?: string })
    .filter((r) => r.type === 'event')
    .map((r) => String(r.event));
}
