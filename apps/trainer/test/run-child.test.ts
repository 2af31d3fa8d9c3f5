import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChild } from '../src/compare-processes';
import type { ProgressEvent } from '../src/progress';

/** A stand-in for the CLI: a script that behaves as the test says (no signal handlers of its own). */
function script(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bmp-run-child-'));
  const file = join(dir, 'cli.cjs');
  writeFileSync(file, body);
  return file;
}

async function run(cli: string, whenStarted?: (c: ChildProcess) => void) {
  const children = new Set<ChildProcess>();
  const events: ProgressEvent[] = [];
  const pending = runChild(
    { dir: tmpdir() },
    { runName: 'r' },
    { cli, jobs: 1 },
    { event: (e) => events.push(e), close: () => {} },
    children,
  );
  if (whenStarted) {
    const [child] = [...children];
    await new Promise((res) => setTimeout(res, 300));
    whenStarted(child);
  }
  return { outcome: await pending, events };
}

describe('a run in a child process', () => {
  it('stopped by SIGINT before it reported anything (still starting): stopped, not a failure', async () => {
    const { outcome } = await run(script('setTimeout(() => {}, 20000);'), (c) => c.kill('SIGINT'));
    expect(outcome).toEqual({ stopped: true });
  });

  it('exits with 143 after SIGTERM without an end event: stopped', async () => {
    const cli = script("process.on('SIGTERM', () => process.exit(143)); setTimeout(() => {}, 20000);");
    const { outcome } = await run(cli, (c) => c.kill('SIGTERM'));
    expect(outcome).toEqual({ stopped: true });
  });

  it('exits with 1 after printing an error: a failure with its message and code', async () => {
    const cli = script("console.error('error: the data is bad'); process.exit(1);");
    const { outcome, events } = await run(cli);
    expect(outcome).toEqual({
      failure: { runName: 'r', exitCode: 1, message: 'the data is bad', runDir: null },
    });
    expect(events.at(-1)).toMatchObject({ level: 'error', text: 'failed: the data is bad' });
  });

  it('killed by SIGKILL: a failure that says so', async () => {
    const { outcome } = await run(script('setTimeout(() => {}, 20000);'), (c) => c.kill('SIGKILL'));
    expect(outcome).toEqual({
      failure: { runName: 'r', exitCode: 1, message: 'killed by SIGKILL', runDir: null },
    });
  });

  it('an end event is its outcome, whatever the exit code', async () => {
    const cli = script(
      "console.log(JSON.stringify({ type: 'end', run: 'r', status: 'interrupted', message: 'stopped' })); process.exit(130);",
    );
    const { outcome } = await run(cli);
    expect(outcome).toEqual({ status: 'interrupted', message: 'stopped' });
  });
});
