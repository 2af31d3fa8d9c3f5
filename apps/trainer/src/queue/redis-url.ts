/**
 * The Redis server of a queued comparison: `--queue redis://user:pass@host:port/db` (`rediss://` for TLS)
 * or BMP_REDIS_URL, the password also from BMP_REDIS_PASSWORD. A password is never printed, logged or
 * stored: everything that shows a URL shows `redact(url)`.
 */
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { UsageError } from '../errors';

export const REDIS_URL_ENV = 'BMP_REDIS_URL';
export const REDIS_PASSWORD_ENV = 'BMP_REDIS_PASSWORD';

export interface RedisTarget {
  /** The URL without its password (safe to print and store). */
  display: string;
  options: RedisOptions;
}

/** The URL with its password (and a user-only secret) replaced by `***`; not a URL: a placeholder. */
export function redact(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '<redis url>';
  }
  if (u.password) u.password = '***';
  else if (u.username && !u.password && u.protocol.startsWith('redis')) {
    // redis://:secret@ has no user; redis://secret@ would be a user named like a password: hide it too
    u.username = '***';
  }
  return u.toString();
}

/** Replaces every occurrence of a secret in a text (error messages of ioredis may quote the URL). */
export function scrub(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/** The server named by the flag (or BMP_REDIS_URL), with BMP_REDIS_PASSWORD when the URL has none. */
export function redisTarget(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  const url = flag ?? env[REDIS_URL_ENV];
  if (!url) throw new UsageError(`--queue: give a Redis URL (redis://host:port) or set ${REDIS_URL_ENV}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(
      `--queue ${redact(url)}: not a URL (expected redis://[user:password@]host[:port][/db])`,
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new UsageError(`--queue ${redact(url)}: expected a redis:// or rediss:// URL`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new UsageError(`--queue ${redact(url)}: the database after the port must be a number`);
  const password = u.password ? decodeURIComponent(u.password) : env[REDIS_PASSWORD_ENV] || undefined;
  const options: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db: db === '' ? 0 : Number(db),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password,
    // BullMQ's blocking commands need these
    maxRetriesPerRequest: null,
    enableReadyCheck: false,
    ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
  };
  return { display: redact(url), options };
}

/** BullMQ's connection options (it opens, duplicates and closes its own ioredis connections from them). */
export function bullConnection(target: RedisTarget): ConnectionOptions {
  return { ...target.options } as ConnectionOptions;
}

/** Checks that the server answers (a clear error instead of endless reconnects). */
export async function checkServer(target: RedisTarget, timeoutMs = 5000): Promise<void> {
  const probe = new Redis({
    ...target.options,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  let lastError: Error | null = null;
  probe.on('error', (e: Error) => {
    lastError = e;
  });
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_, rej) => setTimeout(() => rej(new Error('no answer')), timeoutMs).unref()),
    ]);
  } catch (e) {
    const why = scrub((lastError ?? (e as Error)).message, [target.options.password]);
    throw new QueueError(`--queue ${target.display}: cannot reach Redis (${why})`);
  } finally {
    probe.disconnect();
  }
}

/** The queue's server cannot be reached or used (exit 7, like an unavailable backend). */
export class QueueError extends Error {
  override name = 'QueueError';
  readonly category = 'backend' as const;
}
