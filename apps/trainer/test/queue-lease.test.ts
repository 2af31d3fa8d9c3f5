import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLease, isStale, keepRenewed, LEASE_FILE, type LeaseRecord } from '../src/queue/lease';
import { runCli, TINY_MLP, tempDir } from './helpers';
import { type RedisServer, redisAvailable, startRedis } from './redis';
import { killAll, startWorker, type WorkerProcess } from './workers';

const leaseOf = (dir: string) => JSON.parse(readFileSync(join(dir, LEASE_FILE), 'utf8')) as LeaseRecord;

describe('the lease of a run directory', () => {
  it('has one holder; a live lease is refused to others; release frees it', async () => {
    const dir = join(tempDir(), 'run');
    const a = await acquireLease(dir, 'job-a', 60_000);
    if (!('lease' in a)) throw new Error('first acquire refused');
    const b = await acquireLease(dir, 'job-b', 60_000);
    expect('busy' in b && b.busy.jobId).toBe('job-a');
    expect(await a.lease.renew()).toBe(true);
    await a.lease.release();
    expect(existsSync(join(dir, LEASE_FILE))).toBe(false);
    const c = await acquireLease(dir, 'job-c', 60_000);
    expect('lease' in c).toBe(true);
  });

  it('an expired lease, or one held by a dead process of this host, is taken over; its old holder then knows it lost it', async () => {
    const dir = join(tempDir(), 'run');
    const a = await acquireLease(dir, 'job-a', 50);
    if (!('lease' in a)) throw new Error('refused');
    await new Promise((r) => setTimeout(r, 80));
    const b = await acquireLease(dir, 'job-b', 60_000);
    if (!('lease' in b)) throw new Error('expired lease not taken over');
    expect(await a.lease.renew()).toBe(false);
    await a.lease.release(); // not ours any more: left alone
    expect(leaseOf(dir).jobId).toBe('job-b');
    // a holder that died (its pid no longer exists) on this host
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const record = {
      ...leaseOf(dir),
      owner: { host: hostname(), pid: dead },
      expiresAt: Date.now() + 60_000,
    };
    expect(isStale(record)).toBe(true);
    writeFileSync(join(dir, LEASE_FILE), JSON.stringify(record));
    expect('lease' in (await acquireLease(dir, 'job-c', 60_000))).toBe(true);
  });

  it('renewal notices a lease taken over and says so once (the worker then quits without writing)', async () => {
    const dir = join(tempDir(), 'run');
    const a = await acquireLease(dir, 'job-a', 300);
    if (!('lease' in a)) throw new Error('refused');
    let lost = 0;
    const stop = keepRenewed(a.lease, 300, () => lost++);
    await new Promise((r) => setTimeout(r, 400));
    expect(lost).toBe(0); // renewed past its first expiry
    expect(leaseOf(dir).expiresAt).toBeGreaterThan(Date.now());
    writeFileSync(join(dir, LEASE_FILE), JSON.stringify({ ...leaseOf(dir), token: 'someone-else' }));
    await new Promise((r) => setTimeout(r, 300));
    stop();
    expect(lost).toBe(1);
  });

  it('of many takers of a stale lease at once, exactly one gets it', async () => {
    const dir = join(tempDir(), 'run');
    const first = await acquireLease(dir, 'old', 1);
    expect('lease' in first).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    const got = await Promise.all(Array.from({ length: 8 }, (_, i) => acquireLease(dir, `t${i}`, 60_000)));
    const winners = got.filter((g) => 'lease' in g);
    expect(winners).toHaveLength(1);
    expect(leaseOf(dir).jobId).toBe((winners[0] as { lease: { record: LeaseRecord } }).lease.record.jobId);
    expect(readdirSync(dir).filter((f) => f.startsWith('.lease') && f !== LEASE_FILE)).toEqual([]);
  });
});

describe.skipIf(!redisAvailable())('a worker finding a run directory leased by another process', () => {
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await killAll(workers);
    await redis?.stop();
  });

  it('writes nothing there, gives the job back, and trains the run once the lease is released', async () => {
    const dir = tempDir();
    const runDir = join(dir, 'leased', 'sgd-lr0.1-seed0');
    // this test process is the other writer
    const held = await acquireLease(runDir, 'elsewhere', 120_000);
    if (!('lease' in held)) throw new Error('refused');
    const w = startWorker(['--queue', redis.url, '--log-dir', dir, '--lock-seconds', '5']);
    workers.push(w);
    await w.waitFor(/worker \S+ on redis:/);
    const q = await runCli([
      ...['compare', ...TINY_MLP, '--epochs', '1'],
      '--queue',
      redis.url,
      '--detach',
      '--log-dir',
      dir,
      '--run-name',
      'leased',
    ]);
    expect(q.code, q.stderr).toBe(0);
    await w.waitFor(/run directory leased by \S+ \(job elsewhere\): job given back/);
    // the other run is trained meanwhile; this one is untouched
    await w.waitFor(/scale-amended-lr0\.02-seed0\] job \S+ done: completed/);
    expect(readdirSync(runDir)).toEqual([LEASE_FILE]);
    expect(leaseOf(runDir).jobId).toBe('elsewhere');
    await held.lease.release();
    const followed = await runCli(['compare', '--queue', redis.url, '--follow', join(dir, 'leased')]);
    expect(followed.code, followed.stderr + followed.stdout).toBe(0);
    expect(existsSync(join(runDir, 'metrics.jsonl'))).toBe(true);
    expect(existsSync(join(runDir, LEASE_FILE))).toBe(false);
  });
});
