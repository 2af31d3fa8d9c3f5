// sweep --queue: the sweep's runs trained by two `bmp-train worker`s through a real redis-server give the
// metrics of the same sweep run locally; sweep.json gets the same summary; --detach returns at once and
// `sweep status` follows the runs from their directories.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TINY_SWEEP_BASE, tempDir } from './helpers';
import { type RedisServer, redisAvailable, startRedis } from './redis';
import { killAll, stableMetrics, startWorker, type WorkerProcess } from './workers';

const BASE = { ...TINY_SWEEP_BASE, epochs: 2 };
const RUNS = [
  'optimizer-sgd_seed-0',
  'optimizer-sgd_seed-1',
  'optimizer-scale-amended_seed-0',
  'optimizer-scale-amended_seed-1',
];

describe.skipIf(!redisAvailable())('sweep --queue with two workers', () => {
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];
  let dir = '';
  let file = '';
  beforeAll(async () => {
    redis = await startRedis();
    dir = tempDir();
    file = join(dir, 'grid.yaml');
    writeFileSync(
      file,
      `base: ${JSON.stringify(BASE)}\ngrid:\n  optimizer: [sgd, scale-amended]\n  seed: [0, 1]\n`,
    );
    for (let i = 0; i < 2; i++)
      workers.push(startWorker(['--queue', redis.url, '--log-dir', dir, '--lock-seconds', '5']));
    await Promise.all(workers.map((w) => w.waitFor(/worker \S+ on redis:/)));
  });
  afterAll(async () => {
    await killAll(workers);
    await redis?.stop();
  });

  it('gives every run the metrics of the same sweep run locally, and the same summary in sweep.json', async () => {
    const [queued, local] = await Promise.all([
      runCli(['sweep', file, '--queue', redis.url, '--log-dir', dir, '--name', 'q']),
      runCli(['sweep', file, '--jobs', '1', '--log-dir', dir, '--name', 'l']),
    ]);
    expect(queued.code, queued.stderr + queued.stdout).toBe(0);
    expect(local.code, local.stderr).toBe(0);
    expect(queued.stdout).toMatch(/queued 4 run\(s\) of sweep/);
    for (const r of RUNS) {
      const a = stableMetrics(join(dir, 'l', r));
      expect(a.filter((x) => x.type === 'epoch')).toHaveLength(2);
      expect(stableMetrics(join(dir, 'q', r)), r).toEqual(a);
    }
    const q = JSON.parse(readFileSync(join(dir, 'q', 'sweep.json'), 'utf8'));
    const l = JSON.parse(readFileSync(join(dir, 'l', 'sweep.json'), 'utf8'));
    expect(q.status).toBe('completed');
    expect(q.queue).toMatchObject({ server: `redis://127.0.0.1:${redis.port}`, prefix: 'bmp' });
    expect(q.runs.map((r: { status: string }) => r.status)).toEqual(RUNS.map(() => 'finished'));
    const numbers = (p: {
      groups: Array<{ group: string; finalTestError: unknown; finalTrainLoss: unknown }>;
    }) =>
      p.groups.map(({ group, finalTestError, finalTrainLoss }) => ({
        group,
        finalTestError,
        finalTrainLoss,
      }));
    expect(numbers(q)).toEqual(numbers(l));
    // both workers trained some of them
    for (const w of workers) expect(w.output()).toMatch(/job \S+ done: completed/);
  });

  it('--detach returns once enqueued; sweep status follows the runs from their directories', async () => {
    const detached = await runCli([
      'sweep',
      file,
      '--queue',
      redis.url,
      '--log-dir',
      dir,
      '--name',
      'd',
      '--detach',
    ]);
    expect(detached.code, detached.stderr).toBe(0);
    expect(detached.stdout).toMatch(/see: bmp-train sweep status .*\/d/);
    const deadline = Date.now() + 60_000;
    let status = '';
    while (Date.now() < deadline) {
      status = (await runCli(['sweep', 'status', join(dir, 'd')])).stdout;
      if ((status.match(/finished/g) ?? []).length >= 4) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    for (const r of RUNS) expect(status).toMatch(new RegExp(`${r}\\s+finished`));
    for (const r of RUNS) expect(stableMetrics(join(dir, 'd', r))).toEqual(stableMetrics(join(dir, 'l', r)));
  });
});
