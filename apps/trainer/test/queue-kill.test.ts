import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TINY, tempDir } from './helpers';
import { type RedisServer, redisAvailable, startRedis } from './redis';
import { killAll, runEvents, stableMetrics, startWorker, type WorkerProcess, waitForFile } from './workers';

// A small VGG (BN statistics, momentum), long enough (3 epochs of 60 batches) to be stopped mid-run
const RUN = [
  ...TINY,
  '--image-shape',
  '8x8x3',
  '--synthetic-count',
  '2400',
  '--model',
  'vgg11',
  '--width',
  '0.0625',
  '--epochs',
  '3',
  '--checkpoint-every',
  '1',
  '--log-every-steps',
  '7',
];
const RUNS = ['sgd-lr0.1-seed0', 'scale-amended-lr0.02-seed0'];

describe.skipIf(!redisAvailable())('a worker that dies or is stopped loses nothing', () => {
  let redis: RedisServer;
  let dir: string;
  let local: Promise<Awaited<ReturnType<typeof runCli>>>;
  const workers: WorkerProcess[] = [];
  const worker = (prefix: string) => {
    const w = startWorker([
      '--queue',
      redis.url,
      '--queue-prefix',
      prefix,
      '--log-dir',
      dir,
      '--lock-seconds',
      '2',
    ]);
    workers.push(w);
    return w;
  };
  beforeAll(async () => {
    redis = await startRedis();
    dir = tempDir();
    // the uninterrupted reference, run locally while the queued ones run
    local = runCli(['compare', ...RUN, '--jobs', '1', '--log-dir', dir, '--run-name', 'local']);
  });
  afterEach(async () => {
    await killAll(workers.splice(0));
  });
  afterAll(async () => {
    await killAll(workers);
    await redis?.stop();
  });

  async function expectSameAsLocal(name: string) {
    const ref = await local;
    expect(ref.code, ref.stderr).toBe(0);
    for (const r of RUNS) {
      const a = stableMetrics(join(dir, 'local', r));
      expect(a.filter((x) => x.type === 'epoch')).toHaveLength(3);
      expect(stableMetrics(join(dir, name, r)), `${name}/${r}`).toEqual(a);
    }
  }

  it('SIGKILL after the first checkpoint: the stalled job goes to another worker, which resumes it bit for bit', async () => {
    const a = worker('kill');
    await a.waitFor(/worker \S+ on redis:/);
    const q = await runCli([
      'compare',
      ...RUN,
      '--queue',
      redis.url,
      '--queue-prefix',
      'kill',
      '--detach',
      '--log-dir',
      dir,
      '--run-name',
      'killed',
    ]);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toContain('follow it: bmp-train compare --queue');
    const [, run] = await a.waitFor(/\[(\S+)\] epoch 1\/3 {2}train loss/);
    await waitForFile(join(dir, 'killed', run, 'checkpoints', 'latest.json'));
    a.child.kill('SIGKILL');
    await a.exited;
    const b = worker('kill');
    const followed = await runCli(['compare', '--queue', redis.url, '--follow', join(dir, 'killed')]);
    expect(followed.code, followed.stderr + followed.stdout).toBe(0);
    expect(followed.stdout).toContain('status: completed');
    expect(b.output()).toMatch(new RegExp(`\\[${run}\\] resuming at epoch`));
    // the killed run was resumed (no second start), every record once
    expect(runEvents(join(dir, 'killed', run)).filter((e) => e === 'start')).toHaveLength(1);
    expect(runEvents(join(dir, 'killed', run))).toContain('resume');
    await expectSameAsLocal('killed');
  });

  it('SIGTERM: the run checkpoints, its job goes back to the queue (exit 143), and another worker completes it', async () => {
    const a = worker('term');
    await a.waitFor(/worker \S+ on redis:/);
    const q = await runCli([
      'compare',
      ...RUN,
      '--queue',
      redis.url,
      '--queue-prefix',
      'term',
      '--detach',
      '--log-dir',
      dir,
      '--run-name',
      'termed',
    ]);
    expect(q.code, q.stderr).toBe(0);
    const [, run] = await a.waitFor(/\[(\S+)\] epoch 1\/3 {2}train loss/);
    a.child.kill('SIGTERM');
    const end = await a.exited;
    expect(end.code, a.output()).toBe(143);
    expect(a.output()).toMatch(/checkpoint saved at epoch/);
    worker('term');
    const followed = await runCli([
      'compare',
      '--queue',
      redis.url,
      '--queue-prefix',
      'term',
      '--follow',
      join(dir, 'termed'),
    ]);
    expect(followed.code, followed.stderr + followed.stdout).toBe(0);
    const events = runEvents(join(dir, 'termed', run));
    expect(events).toContain('interrupt');
    expect(events).toContain('resume');
    await expectSameAsLocal('termed');
  });
});
