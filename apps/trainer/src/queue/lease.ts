/**
 * A lease on a run directory: at most one writer, even when the queue delivers a job twice (a worker
 * that stalled but lives on, a network split). `<runDir>/.lease.json` holds { owner, jobId, token,
 * expiresAt }; it is created with O_EXCL, renewed while the run trains (rewritten by rename after
 * checking it is still ours), and removed at the end. An expired lease (or one whose owner is a dead
 * process on this host) may be taken over: the taker first creates `.lease.takeover` with O_EXCL (one
 * taker at a time), re-reads the lease, and replaces it only if it is still the stale one it saw.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LEASE_FILE = '.lease.json';
const TAKEOVER_FILE = '.lease.takeover';

export interface LeaseRecord {
  owner: { host: string; pid: number };
  jobId: string;
  token: string;
  acquiredAt: string;
  expiresAt: number;
}

export interface Lease {
  readonly record: LeaseRecord;
  /** Rewrites expiresAt; false when the lease is no longer ours (taken over). */
  renew(): Promise<boolean>;
  /** Removes the lease if it is still ours. */
  release(): Promise<void>;
}

export type Acquired = { lease: Lease } | { busy: LeaseRecord };

async function readLease(file: string): Promise<LeaseRecord | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LeaseRecord;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // a torn or foreign file: treat it as stale (its writer died while writing)
    return { owner: { host: '?', pid: 0 }, jobId: '?', token: '?', acquiredAt: '', expiresAt: 0 };
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Expired, or held by a process of this host that no longer exists. */
export function isStale(r: LeaseRecord, now = Date.now()): boolean {
  if (r.expiresAt <= now) return true;
  return r.owner.host === hostname() && r.owner.pid !== process.pid && !processAlive(r.owner.pid);
}

async function createExclusive(file: string, text: string): Promise<boolean> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}

async function writeByRename(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

/** Takes the lease of `runDir` for `ttlMs`, or says who holds it. */
export async function acquireLease(runDir: string, jobId: string, ttlMs: number): Promise<Acquired> {
  await fs.mkdir(runDir, { recursive: true });
  const file = join(runDir, LEASE_FILE);
  const record: LeaseRecord = {
    owner: { host: hostname(), pid: process.pid },
    jobId,
    token: randomUUID(),
    acquiredAt: new Date().toISOString(),
    expiresAt: Date.now() + ttlMs,
  };
  const text = () => `${JSON.stringify(record)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(file, text())) return { lease: makeLease(file, record, ttlMs) };
    const held = await readLease(file);
    if (held == null) continue; // released meanwhile: try again
    if (!isStale(held)) return { busy: held };
    const taken = await takeOver(runDir, file, held, text);
    if (taken === 'ours') return { lease: makeLease(file, record, ttlMs) };
    if (taken === 'busy') {
      const now = await readLease(file);
      if (now) return { busy: now };
    }
  }
  const now = await readLease(file);
  return { busy: now ?? { ...record, token: '?' } };
}

async function takeOver(
  runDir: string,
  file: string,
  stale: LeaseRecord,
  text: () => string,
): Promise<'ours' | 'busy' | 'retry'> {
  const lock = join(runDir, TAKEOVER_FILE);
  if (!(await createExclusive(lock, `${process.pid}\n`))) {
    // another taker is at it; a takeover lock older than a minute was left by a taker that died
    const st = await fs.stat(lock).catch(() => null);
    if (st && Date.now() - st.mtimeMs > 60_000) await fs.rm(lock, { force: true });
    return 'busy';
  }
  try {
    const again = await readLease(file);
    if (again == null) return 'retry'; // released meanwhile: create it with O_EXCL
    if (again.token !== stale.token) return 'busy';
    await writeByRename(file, text());
    return 'ours';
  } finally {
    await fs.rm(lock, { force: true });
  }
}

function makeLease(file: string, record: LeaseRecord, ttlMs: number): Lease {
  let released = false;
  return {
    record,
    async renew() {
      if (released) return false;
      const now = await readLease(file);
      if (now?.token !== record.token) return false;
      record.expiresAt = Date.now() + ttlMs;
      await writeByRename(file, `${JSON.stringify(record)}\n`);
      return true;
    },
    async release() {
      if (released) return;
      released = true;
      const now = await readLease(file);
      if (now?.token === record.token) await fs.rm(file, { force: true });
    },
  };
}

/**
 * Renews the lease every ttl/3 until stopped; `onLost` runs once when the lease turns out to be
 * someone else's (this process must then stop writing at once).
 */
export function keepRenewed(lease: Lease, ttlMs: number, onLost: () => void): () => void {
  let stopped = false;
  let busy = false;
  const timer = setInterval(
    async () => {
      if (stopped || busy) return;
      busy = true;
      try {
        if (!(await lease.renew()) && !stopped) {
          stopped = true;
          onLost();
        }
      } catch {
        // a failed write: the next tick tries again (the lease has ttl/3 * 2 left)
      } finally {
        busy = false;
      }
    },
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
