import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compare, resumeCompare } from '../src/compare';
import type { EpochRecord } from '../src/runlog';
import { runCli, TINY_MLP, tempDir } from './helpers';

/** What must not depend on the interruption: everything but timings. */
function epochs(runDir: string) {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EpochRecord)
    .filter((r) => r.type === 'epoch')
    .map(({ epoch, step, trainLoss, trainAccuracy, testLoss, testError, lr, orderHash, scales }) => ({
      epoch,
      step,
      trainLoss,
      trainAccuracy,
      testLoss,
      testError,
      lr,
      orderHash,
      scales,
    }));
}

const summaryOf = (dir: string) => {
  const c = JSON.parse(readFileSync(join(dir, 'compare.json'), 'utf8'));
  return {
    status: c.status,
    checks: c.checks,
    summary: c.summary.map((r: Record<string, unknown>) => ({ ...r, secondsPerEpoch: null })),
  };
};

const RUNS = [
  'sgd-lr0.1-seed0',
  'scale-amended-lr0.02-seed0',
  'sgd-lr0.1-seed1',
  'scale-amended-lr0.02-seed1',
];
// --schedule none: a cosine schedule's half-period is fixed when the comparison is planned
const COMMON = [...TINY_MLP, '--schedule', 'none', '--seeds', '2'];

describe('compare --resume', () => {
  it('through the CLI (resumed runs in child processes): --epochs 1, then --resume with --epochs 2 equals an uninterrupted --epochs 2', async () => {
    const dir = tempDir();
    const [full, part] = await Promise.all([
      runCli(['compare', ...COMMON, '--epochs', '2', '--jobs', '1', '--log-dir', dir, '--run-name', 'full']),
      runCli(['compare', ...COMMON, '--epochs', '1', '--jobs', '1', '--log-dir', dir, '--run-name', 'part']),
    ]);
    expect(full.code, full.stderr).toBe(0);
    expect(part.code, part.stderr).toBe(0);
    const resumed = await runCli(['compare', '--resume', join(dir, 'part'), '--epochs', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    for (const r of RUNS) {
      const a = epochs(join(dir, 'full', r));
      expect(a).toHaveLength(2);
      expect(epochs(join(dir, 'part', r))).toEqual(a);
    }
    expect(summaryOf(join(dir, 'part'))).toEqual(summaryOf(join(dir, 'full')));
    const plan = JSON.parse(readFileSync(join(dir, 'part', 'compare.json'), 'utf8'));
    expect(plan.resumes).toHaveLength(1);
    expect(plan.runs[0].settings.epochs).toBe(2);

    // again: every run is finished, nothing is rerun, same table
    const again = await runCli(['compare', '--resume', join(dir, 'part')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.match(/finished: skipped/g)).toHaveLength(4);
    expect(summaryOf(join(dir, 'part'))).toEqual(summaryOf(join(dir, 'full')));

    // settings that define the comparison cannot change
    const [lr, bs, none] = await Promise.all([
      runCli(['compare', '--resume', join(dir, 'part'), '--lr-sgd', '0.5']),
      runCli(['compare', '--resume', join(dir, 'part'), '--batch-size', '8']),
      runCli(['compare', '--resume', dir]),
    ]);
    expect(lr.code).toBe(2);
    expect(lr.stderr).toContain('--lr-sgd cannot change a stored comparison');
    expect(bs.code).toBe(2);
    expect(bs.stderr).toContain("cannot change 'batchSize'");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no compare.json there');
  }, 120_000);

  it('library: interrupted by an AbortSignal in the second run, resumeCompare() finishes it identically', async () => {
    const logDir = tempDir();
    const settings = {
      dataset: 'synthetic' as const,
      imageShape: [6, 6, 1] as [number, number, number],
      syntheticCount: 160,
      numClasses: 4,
      model: 'mlp' as const,
      width: 8,
      batchSize: 32,
      backend: 'cpu' as const,
      schedule: 'none' as const,
      epochs: 2,
      logDir,
    };
    const full = await compare({ settings, name: 'full' });
    const controller = new AbortController();
    const cut = await compare({
      settings,
      name: 'cut',
      signal: controller.signal,
      onProgress: (e) => {
        // abort in the middle of the second run (scale-amended, seed 0): after its first epoch
        if (e.type === 'epoch' && e.run === 'scale-amended-lr0.02-seed0' && e.record.epoch === 0)
          controller.abort();
      },
    });
    expect(cut.status).toBe('interrupted');
    expect(cut.runs.map((r) => r.status)).toEqual(['completed', 'interrupted']);
    const messages: string[] = [];
    const resumed = await resumeCompare({
      dir: join(logDir, 'cut'),
      onProgress: (e) => {
        if (e.type === 'message') messages.push(`${e.run}: ${e.text}`);
      },
    });
    expect(messages).toEqual(['sgd-lr0.1-seed0: finished: skipped']);
    expect(resumed.status).toBe('completed');
    expect(resumed.runs.map((r) => r.epochs.length)).toEqual([2, 2]);
    for (const r of ['sgd-lr0.1-seed0', 'scale-amended-lr0.02-seed0'])
      expect(epochs(join(logDir, 'cut', r))).toEqual(epochs(join(logDir, 'full', r)));
    expect(resumed.summary.map((r) => r.finalTestError)).toEqual(full.summary.map((r) => r.finalTestError));
    expect(resumed.checks).toEqual(full.checks);
  }, 60_000);
});
