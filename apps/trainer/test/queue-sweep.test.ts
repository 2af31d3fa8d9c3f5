// sweep --queue: the sweep's runs trained by two `bmp-train worker`s through a real redis-server give the
// metrics of the same sweep run locally; sweep.json gets the same summary; --detach returns at once and
// `sweep status` follows the runs from their directories.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

  it('sweep cancel: waiting runs leave the queue, running ones checkpoint and are not retried; --resume here finishes them as train would', async () => {
    // three runs of 12 epochs of 240 batches: the two workers train two, one waits
    const long = { ...TINY_SWEEP_BASE, 'synthetic-count': 9600, epochs: 12, schedule: 'none' };
    const grid = join(dir, 'long.yaml');
    writeFileSync(grid, `base: ${JSON.stringify(long)}\ngrid:\n  seed: [0, 1, 2]\n`);
    const coordinator = runCli(['sweep', grid, '--queue', redis.url, '--log-dir', dir, '--name', 'c']);
    const sweep = join(dir, 'c');
    const seeds = ['seed-0', 'seed-1', 'seed-2'];
    const epochsOf = (r: string) =>
      existsSync(join(sweep, r, 'metrics.jsonl'))
        ? stableMetrics(join(sweep, r)).filter((x) => x.type === 'epoch').length
        : 0;
    const waitUntil = async (ok: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    // queued: not resumed here while workers own it
    await waitUntil(() => existsSync(join(sweep, 'sweep.json')));
    const early = await runCli(['sweep', '--resume', sweep]);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/the sweep is queued: workers train its runs/);
    // both workers have trained an epoch of their run; the stored server has no password, so cancel
    // finds Redis from sweep.json
    await waitUntil(() => seeds.filter((r) => epochsOf(r) > 0).length === 2);
    const cancel = await runCli(['sweep', 'cancel', sweep]);
    expect(cancel.code, cancel.stderr + cancel.stdout).toBe(0);
    expect(cancel.stdout).toMatch(
      /cancelled \(1 run\(s\) taken off the queue, 2 stopped at a checkpoint, 0 had ended\)/,
    );
    const followed = await coordinator;
    expect(followed.code).toBe(130);
    expect(followed.stdout).toMatch(/the sweep was cancelled/);
    const plan = JSON.parse(readFileSync(join(sweep, 'sweep.json'), 'utf8'));
    expect(plan.status).toBe('cancelled');
    const stopped = seeds.filter((r) => epochsOf(r) > 0);
    for (const r of stopped) expect(epochsOf(r)).toBeLessThan(12);
    expect(plan.runs.map((r: { runName: string; status: string }) => [r.runName, r.status])).toEqual(
      seeds.map((r) => [r, stopped.includes(r) ? 'interrupted' : 'pending']),
    );
    // the stopped jobs failed for good with the cancel's reason; after more than a retry's backoff no
    // worker has taken one up again
    for (const w of workers) expect(w.output()).toMatch(/failed: cancelled \(bmp-train sweep cancel\)/);
    await new Promise((r) => setTimeout(r, 2500));
    for (const w of workers) expect(w.output().match(/job c\.\S+ taken/g)).toHaveLength(1);

    // resumed here, in parallel with the same run trained without a stop
    const [r] = stopped;
    const seed = r.slice('seed-'.length);
    const [resumed, train] = await Promise.all([
      runCli(['sweep', '--resume', sweep, '--jobs', '2']),
      runCli([
        'train',
        ...Object.entries(long).flatMap(([k, v]) => [`--${k}`, String(v)]),
        '--seed',
        seed,
        '--log-dir',
        join(dir, 'ct'),
        '--run-name',
        r,
      ]),
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(sweep, 'sweep.json'), 'utf8')).status).toBe('completed');
    expect(stableMetrics(join(sweep, r))).toEqual(stableMetrics(join(dir, 'ct', r)));
  }, 120_000);
});
