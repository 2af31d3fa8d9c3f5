/**
 * `compare()`: the paper's experiment. For every seed, both optimizers (and every learning rate of the
 * sweep) start from the same initial weights and see the same batches; the initial-weights hash and each
 * epoch's batch-order hash are logged per run and checked to agree across the runs of a seed. This module
 * runs them in this process; compare-processes.ts runs them as child processes, compare-resume.ts
 * continues a stored comparison.
 */
import { join } from 'node:path';
import { failureOf, recordFailures } from './compare-failure';
import { type CompareOptions, type ComparePlan, type PlannedRun, planCompare } from './compare-plan';
import { type CompareResult, overallStatus, summarize, writeSummary } from './compare-summary';
import { UsageError } from './config';
import { restore, snapshot, type TrainableModel } from './model';
import { callbackReporter, type Reporter } from './progress';
import { type RunResult, runTraining } from './run';
import { writeJsonAtomic } from './runlog';
import { tf } from './tf';
import { prepareRun } from './train';
import { ensureWritableDir } from './writable';

export type { CompareOptions, ComparePlan, PlannedRun } from './compare-plan';
export { planCompare, plannedRun } from './compare-plan';
export { compareInProcesses } from './compare-processes';
export { overridableSettings, type RunState, resumeCompare, resumePlan, runState } from './compare-resume';
export {
  type CompareResult,
  formatTable,
  readRunResult,
  type SummaryRow,
  summarize,
} from './compare-summary';

/** Runs the comparison in this process, one run after the other. */
export async function compare(options: CompareOptions = {}): Promise<CompareResult> {
  const plan = planCompare(options);
  const seeds = [...new Set(plan.runs.map((r) => r.seed))];
  if (options.model && typeof options.model !== 'function' && seeds.length > 1) {
    throw new UsageError('compare(): several seeds need a model factory (seed) => model');
  }
  await ensureWritableDir(plan.dir, '--log-dir');
  await writeJsonAtomic(join(plan.dir, 'compare.json'), { ...plan, status: 'running' });
  const reporter = options.reporter ?? callbackReporter(options.onProgress);
  const results: RunResult[] = [];
  let current = plan.runs[0];
  try {
    await trainSeeds(plan, seeds, options, reporter, results, (run) => {
      current = run;
    });
  } catch (e) {
    const runDir = join(plan.dir, current.runName);
    throw await recordFailures(plan.dir, plan, plan.runs.length, [failureOf(current.runName, runDir, e)]);
  }
  const result: CompareResult = {
    compareId: plan.compareId,
    dir: plan.dir,
    runs: results,
    status: overallStatus(results),
    ...summarize(plan, results),
  };
  await writeSummary(plan, result);
  return result;
}

/** compare()'s loop: for each seed, the runs of both optimizers from the same initial weights. */
async function trainSeeds(
  plan: ComparePlan,
  seeds: number[],
  options: CompareOptions,
  reporter: Reporter,
  results: RunResult[],
  starting: (run: PlannedRun) => void,
): Promise<void> {
  outer: for (const seed of seeds) {
    const runs = plan.runs.filter((r) => r.seed === seed);
    starting(runs[0]);
    const userModel = typeof options.model === 'function' ? options.model(seed) : options.model;
    const prepared = await prepareRun(runs[0].settings, {
      model: userModel,
      data: options.data,
      skipBackendSetup: options.skipBackendSetup,
    });
    const model: TrainableModel = prepared.model;
    const initial = snapshot(model);
    try {
      for (const run of runs) {
        starting(run);
        restore(model, initial);
        const prep = options.data
          ? await prepareRun(run.settings, { model, data: options.data, skipBackendSetup: true })
          : prepared;
        const result = await runTraining({
          settings: run.settings,
          model,
          train: prep.train,
          val: prep.val,
          test: prep.test,
          numClasses: prep.numClasses,
          runDir: join(plan.dir, run.runName),
          runName: run.runName,
          compareId: plan.compareId,
          meta: prepared.meta,
          resume: false,
          reporter,
          backend: prepared.backend,
          signal: options.signal,
        });
        results.push(result);
        if (result.status === 'interrupted') break outer;
      }
    } finally {
      tf.dispose(initial);
      if (prepared.ownsModel) model.dispose?.();
    }
  }
}
