import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers';
import { type RedisServer, redisAvailable, startRedis } from './redis';
import { killAll, startWorker, type WorkerProcess } from './workers';

describe.skipIf(!redisAvailable())('compare --queue: runs that cannot train, a coordinator stopped', () => {
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await killAll(workers);
    await redis?.stop();
  });

  it('bad data fails each run once (no retry), and the comparison reports the failures with the data exit code', async () => {
    const dir = tempDir();
    const w = startWorker(['--queue', redis.url, '--log-dir', dir, '--lock-seconds', '5']);
    workers.push(w);
    await w.waitFor(/worker \S+ on redis:/);
    const r = await runCli([
      'compare',
      '--dataset',
      'cifar10',
      '--data-dir',
      '/nope',
      '--backend',
      'wasm',
      '--queue',
      redis.url,
      '--log-dir',
      dir,
      '--run-name',
      'bad',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stderr).toMatch(/2 of 2 run\(s\) of the comparison .* failed/);
    expect(r.stderr).toMatch(/sgd-lr0\.1-seed0 \(exit 4\): .*\/nope/);
    expect(r.stdout).toContain('status: failed');
    // each run was taken once: an error that would recur is not retried
    expect(w.output().match(/taken \(attempt 1\)/g)).toHaveLength(2);
    expect(w.output()).not.toMatch(/attempt 2/);
    // as a local comparison: none of its runs started, so nothing is left behind
    expect(r.stderr).toContain('nothing was trained');
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('Ctrl-C on the coordinator stops following (exit 130); the runs stay queued and --follow takes them up', async () => {
    const dir = tempDir();
    const args = [
      '--dataset',
      'synthetic',
      '--backend',
      'wasm',
      '--queue',
      redis.url,
      '--queue-prefix',
      'nobody',
    ];
    const r = await runCli(['compare', ...args, '--log-dir', dir, '--run-name', 'left'], {
      onLine: (l) => (l.includes('] waiting') ? 'SIGINT' : undefined),
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toContain('stopped following; the runs go on in the queue');
    expect(r.stdout).toContain(`--queue-prefix nobody --follow ${join(dir, 'left')}`);
    expect(JSON.parse(readFileSync(join(dir, 'left', 'compare.json'), 'utf8')).status).toBe('queued');
  });
});
