// Redis restarted with its append-only file in the middle of a queued sweep: the workers and the
// coordinator reconnect (ioredis holds their commands while it is down; the coordinator also retries a
// failed poll for up to 10 minutes), and the sweep completes with every run's metrics equal to a local run's.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TINY_SWEEP_BASE, tempDir } from './helpers';
import { type RedisServer, redisAvailable, startRedis } from './redis';
import { killAll, stableMetrics, startWorker, type WorkerProcess } from './workers';

const BASE = { ...TINY_SWEEP_BASE, epochs: 8 };

describe.skipIf(!redisAvailable())('Redis restarted mid-sweep (append-only file)', () => {
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis(undefined, { appendonly: true });
  });
  afterAll(async () => {
    await killAll(workers);
    await redis?.stop();
  });

  it('workers and coordinator reconnect; the sweep completes with the results of a local sweep', async () => {
    const dir = tempDir();
    const file = join(dir, 'grid.yaml');
    writeFileSync(
      file,
      `base: ${JSON.stringify(BASE)}\ngrid:\n  optimizer: [sgd, scale-amended]\n  seed: [0, 1]\n`,
    );
    for (let i = 0; i < 2; i++)
      workers.push(startWorker(['--queue', redis.url, '--log-dir', dir, '--lock-seconds', '5']));
    await Promise.all(workers.map((w) => w.waitFor(/worker \S+ on redis:/)));
    let restarted: Promise<void> | null = null;
    const triggerLine = '';
    const [queued, local] = await Promise.all([
      runCli(['sweep', file, '--queue', redis.url, '--log-dir', dir, '--name', 'q'], {
        onLine: (line) => {
          // once a run is being trained, take Redis down for 1.5 s and bring it back from its AOF
          if (restarted == null && /^\[optimizer-\S+\] (active|epoch)/.test(line))
            restarted = redis.restart(1500);
          return undefined;
        },
      }),
      runCli(['sweep', file, '--jobs', '1', '--log-dir', dir, '--name', 'l']),
    ]);
    expect(restarted, 'Redis was restarted while the runs trained').not.toBeNull();
    await restarted;
    expect(queued.code, queued.stderr + queued.stdout).toBe(0);
    // runs ended after the restart: the jobs enqueued before it came back from the append-only file
    const after = queued.stdout.slice(queued.stdout.indexOf(triggerLine));
    expect(after).toMatch(/\] completed \(completed\)/);
    expect(local.code, local.stderr).toBe(0);
    const plan = JSON.parse(readFileSync(join(dir, 'q', 'sweep.json'), 'utf8'));
    expect(plan.status).toBe('completed');
    for (const run of plan.runs as Array<{ runName: string }>)
      expect(stableMetrics(join(dir, 'q', run.runName)), run.runName).toEqual(
        stableMetrics(join(dir, 'l', run.runName)),
      );
  });
});
