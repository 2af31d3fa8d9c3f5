import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TINY_MLP, tempDir } from './helpers';
import { type RedisServer, redisAvailable, startRedis } from './redis';
import { killAll, stableMetrics, startWorker, type WorkerProcess } from './workers';

const PASSWORD = 'pw-Zq8xK3vT-never-printed';
const RUNS = [
  'sgd-lr0.1-seed0',
  'scale-amended-lr0.02-seed0',
  'sgd-lr0.1-seed1',
  'scale-amended-lr0.02-seed1',
];
const COMMON = [...TINY_MLP, '--seeds', '2', '--epochs', '2', '--log-every-steps', '2'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe.skipIf(!redisAvailable())('compare --queue with two workers', () => {
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis(PASSWORD);
  });
  afterAll(async () => {
    await killAll(workers);
    await redis?.stop();
  });

  it('gives every run the metrics of the same comparison run locally, and never shows or stores the password', async () => {
    const dir = tempDir();
    const withPassword = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    // the workers take the password from BMP_REDIS_PASSWORD, the coordinator from its URL
    for (let i = 0; i < 2; i++)
      workers.push(
        startWorker(['--queue', redis.url, '--log-dir', dir, '--lock-seconds', '5'], {
          BMP_REDIS_PASSWORD: PASSWORD,
        }),
      );
    await Promise.all(workers.map((w) => w.waitFor(/worker \S+ on redis:/)));
    const [queued, local] = await Promise.all([
      runCli(['compare', ...COMMON, '--queue', withPassword, '--log-dir', dir, '--run-name', 'queued']),
      runCli(['compare', ...COMMON, '--jobs', '1', '--log-dir', dir, '--run-name', 'local']),
    ]);
    expect(queued.code, queued.stderr + queued.stdout).toBe(0);
    expect(local.code, local.stderr).toBe(0);
    expect(queued.stdout).toContain('status: completed');
    expect(queued.stdout).toMatch(/scale-amended\s+0\.02\s+2 /);
    for (const r of RUNS) {
      const a = stableMetrics(join(dir, 'local', r));
      expect(a.filter((x) => x.type === 'epoch')).toHaveLength(2);
      expect(stableMetrics(join(dir, 'queued', r))).toEqual(a);
    }
    // both workers trained
    for (const w of workers) expect(w.output()).toMatch(/job \S+ done: completed/);
    const c = JSON.parse(readFileSync(join(dir, 'queued', 'compare.json'), 'utf8'));
    const l = JSON.parse(readFileSync(join(dir, 'local', 'compare.json'), 'utf8'));
    expect(c.status).toBe('completed');
    expect(c.runs.map((r: { runName: string }) => r.runName)).toEqual(
      l.runs.map((r: { runName: string }) => r.runName),
    );
    expect(c.checks).toEqual(l.checks);
    expect(c.queue.server).toBe(`redis://:***@127.0.0.1:${redis.port}`);
    // the password: in no file of the log dir, in no output
    for (const f of filesUnder(dir)) expect(readFileSync(f).includes(PASSWORD), f).toBe(false);
    for (const text of [queued.stdout, queued.stderr, ...workers.map((w) => w.output())])
      expect(text.includes(PASSWORD)).toBe(false);
    expect(queued.stdout).toContain('redis://:***@127.0.0.1');
  });

  it('compare --resume --queue continues a stored comparison (--epochs 1, then 2, equals 2 at once), on one worker with --concurrency 2', async () => {
    const dir = tempDir();
    for (const w of workers) w.child.kill('SIGKILL');
    await killAll(workers.splice(0));
    // one worker training both runs at once in its process
    workers.push(
      startWorker(['--queue', redis.url, '--log-dir', dir, '--concurrency', '2'], {
        BMP_REDIS_PASSWORD: PASSWORD,
      }),
    );
    await workers[0].waitFor(/worker \S+ on redis:/);
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    // --schedule none: a cosine schedule's half-period is fixed when the comparison is planned
    const args = [...TINY_MLP, '--schedule', 'none', '--log-dir', dir];
    const [short, full] = await Promise.all([
      runCli(['compare', ...args, '--epochs', '1', '--queue', url, '--run-name', 'short']),
      runCli(['compare', ...args, '--epochs', '2', '--jobs', '1', '--run-name', 'full']),
    ]);
    expect(short.code, short.stderr + short.stdout).toBe(0);
    expect(full.code, full.stderr).toBe(0);
    const resumed = await runCli([
      'compare',
      '--resume',
      join(dir, 'short'),
      '--epochs',
      '2',
      '--queue',
      url,
    ]);
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toContain('queued 2 unfinished run(s) of short');
    for (const r of RUNS.slice(0, 2)) {
      const a = stableMetrics(join(dir, 'full', r));
      expect(a.filter((x) => x.type === 'epoch')).toHaveLength(2);
      expect(stableMetrics(join(dir, 'short', r))).toEqual(a);
    }
    const c = JSON.parse(readFileSync(join(dir, 'short', 'compare.json'), 'utf8'));
    expect(c.status).toBe('completed');
    expect(c.resumes).toHaveLength(1);
  });
});
