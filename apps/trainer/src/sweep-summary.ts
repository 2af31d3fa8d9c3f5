/** A sweep's numbers: each run's from its metrics.jsonl, and per group (the runs that differ only in their seed) mean ± std. */
import { join } from 'node:path';
import { readEpochRecords } from './run';
import type { SweepGroupRow, SweepPlan, SweepRun, SweepRunResult } from './sweep-plan';

/** A run's numbers from its metrics.jsonl. */
export async function runResultOf(runDir: string): Promise<SweepRunResult> {
  const epochs = await readEpochRecords(join(runDir, 'metrics.jsonl'));
  const errs = epochs.map((e) => e.testError).filter((x): x is number => x !== undefined);
  const last = epochs[epochs.length - 1];
  return {
    epochs: epochs.length,
    finalTestError: errs.length ? errs[errs.length - 1] : null,
    bestTestError: errs.length ? Math.min(...errs) : null,
    finalTrainLoss: last ? last.trainLoss : null,
    secondsPerEpoch: epochs.length
      ? epochs.reduce((t, e) => t + (e.epochSeconds ?? 0), 0) / epochs.length
      : null,
  };
}

function meanStd(xs: Array<number | null | undefined>): { mean: number | null; std: number | null } {
  const v = xs.filter((x): x is number => x != null);
  if (v.length === 0) return { mean: null, std: null };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  if (v.length < 2) return { mean, std: null };
  return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) };
}

/** Mean ± std over the seeds of each group (the runs that differ only in their seed), finished runs only. */
export function summarizeGroups(plan: SweepPlan): SweepGroupRow[] {
  const groups = new Map<string, SweepRun[]>();
  for (const r of plan.runs) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  return [...groups].map(([group, runs]) => {
    const done = runs.filter((r) => r.status === 'finished');
    const { seed: _seed, ...point } = runs[0].point;
    return {
      group,
      point,
      runs: runs.length,
      finished: done.length,
      finalTestError: meanStd(done.map((r) => r.result?.finalTestError)),
      bestTestError: meanStd(done.map((r) => r.result?.bestTestError)),
      finalTrainLoss: meanStd(done.map((r) => r.result?.finalTrainLoss)),
    };
  });
}
