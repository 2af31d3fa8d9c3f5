import { randomBytes } from 'node:crypto';
import * as fsSync from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { z } from 'zod';
import { RunlogSchemaError, safeParseWith } from '../validate';

/** The file operations an atomic write uses; replaceable to test failures (defaults: node:fs/promises). */
export interface AtomicFileOps {
  open(
    path: string,
    flags: string,
    mode?: number,
  ): Promise<{
    write(
      buffer: Uint8Array,
      offset: number,
      length: number,
      position: number | null,
    ): Promise<{ bytesWritten: number }>;
    sync(): Promise<void>;
    close(): Promise<void>;
  }>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
}

/** The synchronous counterparts (defaults: node:fs). */
export interface AtomicFileOpsSync {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, options: { force: true }): void;
}

export interface AtomicWriteOptions {
  /** File mode of a newly created file (default 0o644, less the umask). */
  mode?: number;
  /** fsync the directory after the rename so the new name survives a power cut (default true; best effort). */
  syncDirectory?: boolean;
}

const DEFAULT_OPS: AtomicFileOps = { open: fsp.open, rename: fsp.rename, rm: fsp.rm };
const DEFAULT_OPS_SYNC: AtomicFileOpsSync = fsSync;

/** `.<name>.<pid>.<random>.tmp` beside `file`: same directory, so the rename stays on one file system. */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

const toBytes = (data: string | Uint8Array): Uint8Array =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : data;

async function syncDirectory(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Not supported everywhere (Windows); the rename itself is still atomic.
  }
}

function syncDirectorySync(dir: string): void {
  try {
    const fd = fsSync.openSync(dir, 'r');
    try {
      fsSync.fsyncSync(fd);
    } finally {
      fsSync.closeSync(fd);
    }
  } catch {
    // See syncDirectory.
  }
}

/**
 * Writes `data` to `file` so that readers see either the old content or the whole new content, never
 * a part: the data goes to a temporary file in the same directory, is flushed to disk (fsync), and is
 * renamed over `file`. On any failure the temporary file is removed and `file` is left as it was.
 * The parent directory is created if needed.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions & { ops?: Partial<AtomicFileOps> } = {},
): Promise<void> {
  const ops = { ...DEFAULT_OPS, ...options.ops };
  const bytes = toBytes(data);
  await fsp.mkdir(dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  let renamed = false;
  try {
    const handle = await ops.open(tmp, 'wx', options.mode ?? 0o644);
    try {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, off, bytes.length - off, off);
        off += bytesWritten;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await ops.rename(tmp, file);
    renamed = true;
  } finally {
    if (!renamed) await ops.rm(tmp, { force: true }).catch(() => {});
  }
  if (options.syncDirectory !== false) await syncDirectory(dirname(file));
}

/** Synchronous `writeFileAtomic` (for exit handlers, where nothing asynchronous runs any more). */
export function writeFileAtomicSync(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions & { ops?: Partial<AtomicFileOpsSync> } = {},
): void {
  const ops = { ...DEFAULT_OPS_SYNC, ...options.ops };
  const bytes = toBytes(data);
  fsSync.mkdirSync(dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  let renamed = false;
  try {
    const fd = ops.openSync(tmp, 'wx', options.mode ?? 0o644);
    try {
      let off = 0;
      while (off < bytes.length) off += ops.writeSync(fd, bytes, off, bytes.length - off, off);
      ops.fsyncSync(fd);
    } finally {
      ops.closeSync(fd);
    }
    ops.renameSync(tmp, file);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        ops.rmSync(tmp, { force: true });
      } catch {
        // Nothing more can be done; the error that got us here is rethrown.
      }
    }
  }
  if (options.syncDirectory !== false) syncDirectorySync(dirname(file));
}

export interface JsonWriteOptions<S extends z.ZodType> extends AtomicWriteOptions {
  /** Validate before writing; an invalid value throws `RunlogSchemaError` and nothing is written. */
  schema?: S;
  /** JSON indentation (default 2). */
  space?: number;
}

function jsonText<S extends z.ZodType>(value: unknown, options: JsonWriteOptions<S>): string {
  if (options.schema) {
    const r = safeParseWith(options.schema, value);
    if (!r.ok) throw new RunlogSchemaError(`refusing to write invalid JSON: ${r.error}`, r.issues);
  }
  const text = JSON.stringify(value, null, options.space ?? 2);
  if (text === undefined) throw new TypeError('writeJsonAtomic: value cannot be serialised as JSON');
  return `${text}\n`;
}

/** `writeFileAtomic` of `JSON.stringify(value, null, 2)` plus a newline (config, analysis, checkpoint metadata). */
export async function writeJsonAtomic<S extends z.ZodType = z.ZodType>(
  file: string,
  value: unknown,
  options: JsonWriteOptions<S> & { ops?: Partial<AtomicFileOps> } = {},
): Promise<void> {
  await writeFileAtomic(file, jsonText(value, options), options);
}

export function writeJsonAtomicSync<S extends z.ZodType = z.ZodType>(
  file: string,
  value: unknown,
  options: JsonWriteOptions<S> & { ops?: Partial<AtomicFileOpsSync> } = {},
): void {
  writeFileAtomicSync(file, jsonText(value, options), options);
}

/**
 * Creates `file` with `data` only if it does not exist yet, atomically: readers never see it half
 * written. Returns false (and leaves the file alone) if it already existed.
 */
export function createFileAtomicSync(file: string, data: string | Uint8Array = ''): boolean {
  const bytes = toBytes(data);
  const tmp = tempPathFor(file);
  const fd = fsSync.openSync(tmp, 'wx', 0o644);
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += fsSync.writeSync(fd, bytes, off, bytes.length - off, off);
      fsSync.fsyncSync(fd);
    } finally {
      fsSync.closeSync(fd);
    }
    try {
      // link() fails with EEXIST instead of replacing, unlike rename().
      fsSync.linkSync(tmp, file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      // File systems without hard links: rename (which would replace a file created meanwhile).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
      if (fsSync.existsSync(file)) return false;
      fsSync.renameSync(tmp, file);
    }
    syncDirectorySync(dirname(file));
    return true;
  } finally {
    try {
      fsSync.rmSync(tmp, { force: true });
    } catch {
      // best effort
    }
  }
}
