/**
 * Where a resumed run continues: the newest checkpoint that reads back whole and fits metrics.jsonl,
 * found by listing `checkpoints/` (latest.json is only checked: a kill before it was written must not
 * strand a run). Unusable checkpoints are moved aside (kept for inspection) with a warning naming them;
 * leftover temporary directories of interrupted writes are removed. No checkpoint at all: the run
 * starts again from its first step.
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import { join } from 'node:path';
import { type LoadedCheckpoint, listCheckpoints, parseCheckpointName, readCheckpoint } from './checkpoint';
import { RunDirError } from './errors';
import { readJson } from './runlog';

export interface ResumePoint {
  /** null: no checkpoint was ever completed; the run starts from its first step. */
  checkpoint: LoadedCheckpoint | null;
  /** What was found wrong or cleaned up, for the user (one line each). */
  warnings: string[];
}

/** Checks latest.json (a pointer for people and tools): it must name a checkpoint inside the run. */
async function checkLatestJson(root: string): Promise<string | null> {
  const file = join(root, 'latest.json');
  if (!existsSync(file)) return null;
  try {
    const { checkpoint } = await readJson<{ checkpoint?: unknown }>(file);
    if (typeof checkpoint !== 'string' || parseCheckpointName(checkpoint) == null)
      return `${file}: ignored: ${JSON.stringify(checkpoint)} is not a checkpoint of this run (a name like epoch-0001-batch-000000 in ${root})`;
    return null;
  } catch (e) {
    return `${file}: ignored: ${(e as Error).message}`;
  }
}

async function removeTemporaries(root: string): Promise<string[]> {
  const tmp = (await fs.readdir(root)).filter((n) => n.startsWith('.tmp-'));
  for (const n of tmp) await fs.rm(join(root, n), { recursive: true, force: true });
  return tmp.map((n) => `removed ${join(root, n)} (an interrupted checkpoint write)`);
}

function metricsSize(runDir: string): number {
  const file = join(runDir, 'metrics.jsonl');
  return existsSync(file) ? statSync(file).size : 0;
}

function isContentError(e: unknown): boolean {
  const name = (e as Error)?.name;
  const missingFile = (e as NodeJS.ErrnoException)?.code === 'ENOENT';
  return name === 'RunDirError' || name === 'WeightsFileError' || missingFile;
}

export async function findResumePoint(runDir: string): Promise<ResumePoint> {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return { checkpoint: null, warnings: [] };
  const warnings = await removeTemporaries(root);
  const latestProblem = await checkLatestJson(root);
  if (latestProblem) warnings.push(latestProblem);
  const names = await listCheckpoints(runDir);
  const problems: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    try {
      const checkpoint = await readCheckpoint(dir);
      const size = metricsSize(runDir);
      if (checkpoint.state.metricsBytes > size)
        throw new RunDirError(
          `${join(runDir, 'metrics.jsonl')} has ${size} bytes, fewer than the ${checkpoint.state.metricsBytes} it had when ${dir} was taken (truncated or replaced)`,
        );
      if (problems.length > 0)
        warnings.push(`resuming from the older checkpoint ${dir} instead of ${join(root, names[0])}`);
      return { checkpoint, warnings };
    } catch (e) {
      // a file-system error (permissions, I/O) says nothing about the checkpoint: stop and report it
      if (!isContentError(e)) throw e;
      const aside = join(root, `.unusable-${name}-${Date.now()}`);
      await fs.rename(dir, aside);
      problems.push(`${name}: ${(e as Error).message}`);
      warnings.push(`checkpoint ${dir} is unusable (${(e as Error).message}); moved to ${aside}`);
    }
  }
  if (problems.length > 0)
    throw new RunDirError(
      `${runDir}: no usable checkpoint (${problems.join('; ')}). The unusable ones were moved aside in ${root}; ` +
        `to train this run again from the start, use --resume once more`,
    );
  return { checkpoint: null, warnings };
}
