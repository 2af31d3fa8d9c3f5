/**
 * The parent job of a queued comparison: a worker takes it once every run job has ended (completed, or
 * failed for good), and writes the comparison's summary into compare.json exactly as a local comparison
 * does (compare-summary.ts, the runs read back from their directories; failed runs as compare-failure.ts
 * records them).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Job, type Queue } from 'bullmq';
import { CompareFailedError, type RunFailure, recordFailures } from '../compare-failure';
import type { ComparePlan } from '../compare-plan';
import { runState } from '../compare-resume';
import {
  type CompareResult,
  overallStatus,
  readRunResult,
  summarize,
  summaryFields,
  writeSummary,
} from '../compare-summary';
import type { RunResult } from '../run';
import { readComparePlan } from '../runlog';
import type { CompareJobData, RunJobResult } from './job-data';

export interface CompareJobResult {
  status: CompareResult['status'] | 'failed';
  dir: string;
  failures: RunFailure[];
}

/** "exit 4: message" (how a run job's permanent failure carries its exit code) -> [4, message]. */
export function parseFailure(reason: string): { exitCode: number; message: string } {
  const m = /^exit (\d+): ([\s\S]*)$/.exec(reason);
  return m ? { exitCode: Number(m[1]), message: m[2] } : { exitCode: 1, message: reason };
}

export async function processCompareJob(
  job: Job<CompareJobData, CompareJobResult>,
  logDir: string,
  runs: Queue,
): Promise<CompareJobResult> {
  const dir = join(logDir, job.data.comparePath);
  const stored = (await readComparePlan(join(dir, 'compare.json'))) as unknown as ComparePlan & {
    queue?: unknown;
  };
  const plan: ComparePlan & { queue?: unknown } = { ...stored, dir };
  const results: RunResult[] = [];
  const failures: RunFailure[] = [];
  for (const run of plan.runs) {
    const id = job.data.runJobs[run.runName];
    const runDir = join(dir, run.runName);
    if (!id) {
      // compare --resume: a run that had ended before was not enqueued again
      const state = await runState(runDir, run.settings.epochs);
      if (state === 'finished' || state === 'diverged') {
        results.push(await readRunResult(runDir, state === 'finished' ? 'completed' : 'diverged'));
        continue;
      }
    }
    const child = id ? await Job.fromId<unknown, RunJobResult>(runs, id) : undefined;
    const state = child ? await child.getState() : 'unknown';
    if (child && state === 'completed' && child.returnvalue) {
      results.push(await readRunResult(runDir, child.returnvalue.status, child.returnvalue.message));
      continue;
    }
    const { exitCode, message } = parseFailure(child?.failedReason || `run job ${id ?? '?'}: ${state}`);
    failures.push({ runName: run.runName, exitCode, message, runDir: existsSync(runDir) ? runDir : null });
  }
  const result: CompareResult = {
    compareId: plan.compareId,
    dir,
    runs: results,
    status: overallStatus(results),
    ...summarize(plan, results),
  };
  if (failures.length > 0) {
    const err = await recordFailures(dir, plan, plan.runs.length, failures, summaryFields(result));
    if (!(err instanceof CompareFailedError)) throw err;
    return { status: 'failed', dir, failures };
  }
  await writeSummary(plan, result);
  return { status: result.status, dir, failures: [] };
}
