import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { listLogDir, type RunListing } from './log-dir';

/** Size and modification time of one run file, as the server saw them. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  /** The inode: a file replaced by another (not appended to) is read again from its start. */
  ino: number;
}

export interface RunSnapshot extends RunListing {
  /** Per file of `files`: its size and mtime (a file that vanished between listing and stat is left out). */
  stats: Record<string, FileStat>;
}

/** The log directory's runs with the sizes and mtimes of their files (`GET /api/snapshot`, `/api/events`). */
export interface LogDirSnapshot {
  logDir: string;
  exists: boolean;
  runs: RunSnapshot[];
  /** The server's clock when the snapshot was taken (ms since the epoch), to age mtimes without clock skew. */
  now: number;
}

export async function snapshotLogDir(logDir: string): Promise<LogDirSnapshot> {
  const listing = await listLogDir(logDir);
  const runs = await Promise.all(
    listing.runs.map(async (run): Promise<RunSnapshot> => {
      const dir = run.name === '.' ? listing.logDir : join(listing.logDir, ...run.name.split('/'));
      const found = await Promise.all(
        run.files.map(async (f): Promise<[string, FileStat] | null> => {
          try {
            const s = await stat(join(dir, f));
            return [f, { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino }];
          } catch {
            return null; // removed between the listing and the stat: the next poll lists it as gone
          }
        }),
      );
      // In the files' order (not the stats' completion order): the snapshot's JSON is its signature.
      const stats: Record<string, FileStat> = Object.fromEntries(found.filter((e) => e !== null));
      return { ...run, stats };
    }),
  );
  return { logDir: listing.logDir, exists: listing.exists, runs, now: Date.now() };
}

/** What changes when the log directory changes: everything but the clock. */
function signature(s: LogDirSnapshot): string {
  return JSON.stringify([s.exists, s.runs]);
}

export type SnapshotListener = (snapshot: LogDirSnapshot) => void;

/**
 * Follows a log directory by polling: every `intervalMs` it lists the run directories and stats their
 * files, and tells the listeners when anything (a run, a file, a size, an mtime) changed.
 *
 * Polling, not fs.watch: recursive fs.watch is not available or not reliable on Linux (inotify watches one
 * directory each, new subdirectories must be added by hand, and the watch limit is easy to reach), and it
 * sees nothing on network filesystems such as NFS, where distributed runs write their logs from other
 * machines. A listing plus a stat per run file every second is cheap for the sweeps the viewer shows, and
 * it works on any filesystem.
 *
 * The poller runs only while someone listens: the first listener starts it, the last one stops it.
 */
export class LogDirPoller {
  private readonly listeners = new Set<SnapshotListener>();
  private timer: NodeJS.Timeout | null = null;
  private last: LogDirSnapshot | null = null;
  private lastSig = '';
  private running = false;
  /** Bumped by stop(): a poll in flight from before a stop must not schedule another. */
  private generation = 0;

  constructor(
    readonly logDir: string,
    readonly intervalMs = 1000,
  ) {}

  /** Adds a listener; it is called with the current snapshot first, then on every change. */
  subscribe(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    if (this.last) listener({ ...this.last, now: Date.now() });
    if (!this.running) {
      this.running = true;
      void this.tick(this.generation);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.last = null;
    this.lastSig = '';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One poll; the next is scheduled when this one is done (never two at once on a slow filesystem). */
  private async tick(generation: number): Promise<void> {
    this.timer = null;
    let snap: LogDirSnapshot | null = null;
    try {
      snap = await snapshotLogDir(this.logDir);
    } catch (e) {
      console.error(`bmp-viewer: polling ${this.logDir} failed: ${(e as Error).message}`);
    }
    if (!this.running || generation !== this.generation) return;
    if (snap) {
      const sig = signature(snap);
      if (sig !== this.lastSig) {
        this.last = snap;
        this.lastSig = sig;
        for (const l of this.listeners) l(snap);
      }
    }
    this.timer = setTimeout(() => void this.tick(generation), this.intervalMs);
  }
}
