import { existsSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { findRunDirs } from '@bmp/runlog/node';

/** The files of a run directory the viewer reads. */
export const RUN_FILES = ['config.json', 'metrics.jsonl', 'analysis.json'] as const;

export interface RunListing {
  /** Path relative to the log directory, `/`-separated ('.' when the log directory is itself a run). */
  name: string;
  /** Which of RUN_FILES it holds. */
  files: string[];
}

export interface LogDirListing {
  logDir: string;
  exists: boolean;
  runs: RunListing[];
}

/**
 * Finds run directories (holding config.json, metrics.jsonl or analysis.json) under `logDir`, up to
 * `maxDepth` levels deep (`<log-dir>/<compare>/<run>` is depth 2). Only names are listed: the browser
 * fetches and parses the files, so that the server and the file picker share one parsing path.
 */
export async function listLogDir(logDir: string, maxDepth = 3): Promise<LogDirListing> {
  const root = resolve(logDir);
  if (!existsSync(root)) return { logDir: root, exists: false, runs: [] };
  const dirs = await findRunDirs(root, { maxDepth, markers: RUN_FILES });
  return { logDir: root, exists: true, runs: dirs.map(({ name, files }) => ({ name, files })) };
}

export class PathRejectedError extends Error {
  override readonly name = 'PathRejectedError';
}

/**
 * Resolves a `/`-separated path taken from a URL to a regular file inside `root`, or throws
 * `PathRejectedError` when it would leave `root` (`..`, an absolute path, a NUL byte, or a symbolic link
 * pointing outside). Returns null when it does not exist or is not a regular file.
 */
export async function resolveInside(
  root: string,
  urlPath: string,
): Promise<{ path: string; stats: Stats } | null> {
  if (urlPath.includes('\0')) throw new PathRejectedError('path contains a NUL byte');
  const parts = urlPath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..' || p.includes('\\')))
    throw new PathRejectedError(`path leaves the directory: ${urlPath}`);
  if (isAbsolute(urlPath) && parts.length === 0) throw new PathRejectedError('empty path');
  const base = resolve(root);
  const candidate = resolve(base, ...parts);
  if (candidate !== base && !candidate.startsWith(base + sep))
    throw new PathRejectedError(`path leaves the directory: ${urlPath}`);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return null;
  }
  const realBase = await realpath(base);
  if (real !== realBase && !real.startsWith(realBase + sep)) {
    throw new PathRejectedError(`path resolves outside the directory (symbolic link): ${urlPath}`);
  }
  const stats = await stat(real);
  return stats.isFile() ? { path: real, stats } : null;
}
