/**
 * What a user can get wrong, by category, each with its own exit code (the README's table), and how an
 * error becomes the one or two lines the CLI prints. Stack traces only with --debug or BMP_DEBUG=1.
 */

export const EXIT = {
  ok: 0,
  /** An unexpected error: a bug (the message asks for --debug and a report). */
  internal: 1,
  usage: 2,
  diverged: 3,
  data: 4,
  /** A run directory or checkpoint that cannot be read, resumed or written as asked. */
  run: 5,
  filesystem: 6,
  backend: 7,
  /** 128 + the signal's number, as shells report a process stopped by it. */
  sigint: 130,
  sigterm: 143,
} as const;

export type ErrorCategory = 'usage' | 'data' | 'run' | 'filesystem' | 'backend' | 'internal';

/** Bad flags or settings (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Data that cannot train a run (an empty training set, ...) (exit 4). */
export class DataError extends Error {
  override name = 'DataError';
}

/** A run directory, config.json, metrics.jsonl or checkpoint that cannot be used (exit 5). */
export class RunDirError extends Error {
  override name = 'RunDirError';
}

/** analyze: a run or checkpoint it cannot analyse (exit 5). */
export class AnalyzeError extends Error {
  override name = 'AnalyzeError';
}

/** A file or directory the trainer cannot write or read (exit 6); the message names it. */
export class FileSystemError extends Error {
  override name = 'FileSystemError';
}

// Errors of the packages, by name (their classes may come from another copy of a package).
const BY_NAME: Record<string, ErrorCategory> = {
  UsageError: 'usage',
  InvalidArgumentError: 'usage',
  DataError: 'data',
  DatasetError: 'data',
  FolderDatasetError: 'data',
  DownloadError: 'data',
  RunDirError: 'run',
  AnalyzeError: 'run',
  WeightsFileError: 'run',
  RunlogSchemaError: 'run',
  FileSystemError: 'filesystem',
  BackendUnavailableError: 'backend',
};

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

const EXIT_OF: Record<ErrorCategory, number> = {
  usage: EXIT.usage,
  data: EXIT.data,
  run: EXIT.run,
  filesystem: EXIT.filesystem,
  backend: EXIT.backend,
  internal: EXIT.internal,
};

/** "permission denied (EACCES)" for a Node file-system error, else its message. */
export function errnoReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && ERRNO_TEXT[code]) return `${ERRNO_TEXT[code]} (${code})`;
  return e instanceof Error ? e.message : String(e);
}

export interface DescribedError {
  category: ErrorCategory;
  exitCode: number;
  /** One or two lines: what is wrong, which file or flag, what to do. */
  message: string;
}

/** Sorts an error into its category and gives the lines a user reads. */
export function describeError(e: unknown): DescribedError {
  const err = e instanceof Error ? e : new Error(String(e));
  const errno = (err as NodeJS.ErrnoException).code;
  const own = (err as { category?: ErrorCategory }).category;
  let category: ErrorCategory = (own && own in EXIT_OF ? own : BY_NAME[err.name]) ?? 'internal';
  let message = err.message;
  if (category === 'internal' && errno && ERRNO_TEXT[errno]) {
    category = 'filesystem';
    const path = (err as NodeJS.ErrnoException).path;
    message = `${path ?? 'file system'}: ${errnoReason(err)}`;
  }
  if (category === 'internal')
    message += '\n(unexpected: rerun with --debug for the stack trace, and report it if it persists)';
  return { category, exitCode: EXIT_OF[category], message };
}

export function debugEnabled(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--debug') || process.env.BMP_DEBUG === '1';
}

/** Prints an error the way the CLI does and returns its exit code. */
export function reportError(e: unknown, write: (s: string) => void, debug: boolean): number {
  const d = describeError(e);
  write(`error: ${d.message}\n`);
  if (debug && e instanceof Error && e.stack) write(`${e.stack}\n`);
  return d.exitCode;
}
