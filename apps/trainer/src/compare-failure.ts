/**
 * A comparison whose runs failed: which runs, why (their own error line), and where their logs are.
 * compare.json records it (status 'failed') so that `compare --resume` can take it up once the cause is
 * fixed; a comparison none of whose runs started leaves nothing behind.
 */
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describeError, type ErrorCategory, EXIT } from './errors';
import { writeJsonAtomic } from './runlog';

export interface RunFailure {
  runName: string;
  exitCode: number;
  /** The run's own error message. */
  message: string;
  /** The run's directory, or null when it was never created. */
  runDir: string | null;
}

/** The error category of a failed run's exit code (a comparison or sweep exits with its first's). */
export const CATEGORY_OF_EXIT = new Map<number, ErrorCategory>([
  [EXIT.usage, 'usage'],
  [EXIT.data, 'data'],
  [EXIT.run, 'run'],
  [EXIT.filesystem, 'filesystem'],
  [EXIT.backend, 'backend'],
]);

export class CompareFailedError extends Error {
  override name = 'CompareFailedError';
  /** The category of the first failure (its exit code is the comparison's). */
  readonly category: ErrorCategory;
  constructor(
    readonly dir: string,
    readonly failures: RunFailure[],
    readonly planned: number,
    kept: boolean,
  ) {
    const lines = failures.map(
      (f) =>
        `  ${f.runName} (exit ${f.exitCode}): ${f.message.split('\n').join(' ')}; logs: ${f.runDir ?? 'none (it did not start)'}`,
    );
    super(
      [
        `${failures.length} of ${planned} run(s) of the comparison in ${dir} failed:`,
        ...lines,
        kept
          ? `fix the cause, then continue with: bmp-train compare --resume ${dir}`
          : `nothing was trained, and nothing was left in ${dir}`,
      ].join('\n'),
    );
    this.category = CATEGORY_OF_EXIT.get(failures[0]?.exitCode ?? EXIT.internal) ?? 'internal';
  }
}

/** The failure of a run that threw in this process. */
export function failureOf(runName: string, runDir: string, e: unknown): RunFailure {
  const d = describeError(e);
  return {
    runName,
    exitCode: d.exitCode,
    message: d.message.split('\n')[0],
    runDir: existsSync(runDir) ? runDir : null,
  };
}

/**
 * Records the failures in compare.json (status 'failed'), or removes the comparison directory when no
 * run left anything in it, and returns the error to throw.
 */
export async function recordFailures(
  dir: string,
  plan: object,
  planned: number,
  failures: RunFailure[],
  extra: object = {},
): Promise<CompareFailedError> {
  const started = failures.some((f) => f.runDir != null) || (await runDirs(dir)) > 0;
  if (started)
    await writeJsonAtomic(join(dir, 'compare.json'), { ...plan, ...extra, status: 'failed', failures });
  else {
    await fs.rm(join(dir, 'compare.json'), { force: true });
    await fs.rmdir(dir).catch(() => undefined); // only if empty: never remove what the user put there
  }
  return new CompareFailedError(dir, failures, planned, started);
}

async function runDirs(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).length;
}
