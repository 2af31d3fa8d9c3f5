/** `compare --resume`: what is left of a stored comparison, and finishing it. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { listCheckpoints, parseCheckpointName } from './checkpoint';
import { failureOf, recordFailures } from './compare-failure';
import type { CompareOptions, ComparePlan, PlannedRun } from './compare-plan';
import { compareInProcesses } from './compare-processes';
import { type CompareResult, overallStatus, readRunResult, summarize, writeSummary } from './compare-summary';
import { RESUME_OVERRIDABLE, type TrainSettings, UsageError } from './config';
import { callbackReporter } from './progress';
import type { RunResult } from './run';
import { readComparePlan, readJsonl, writeJsonAtomic } from './runlog';
import { train } from './train';

/** What is left to do for one planned run of a stored comparison. */
export type RunState = 'missing' | 'started-without-checkpoint' | 'resumable' | 'finished' | 'diverged';

export async function runState(runDir: string, epochs: number): Promise<RunState> {
  if (!existsSync(join(runDir, 'config.json'))) return 'missing';
  const metrics = join(runDir, 'metrics.jsonl');
  if (existsSync(metrics)) {
    const ends = (await readJsonl(metrics)).filter(
      (r) => r.type === 'event' && (r.event === 'stop' || r.event === 'interrupt' || r.event === 'resume'),
    );
    const last = ends[ends.length - 1] as { event: string; reason?: string } | undefined;
    // a diverged run would diverge again at the same step: it is reported, not rerun
    if (last?.event === 'stop' && last.reason === 'diverged') return 'diverged';
  }
  const [newest] = await listCheckpoints(runDir);
  if (newest == null) return 'started-without-checkpoint';
  const { epoch, batch } = parseCheckpointName(newest)!;
  return epoch >= epochs && batch === 0 ? 'finished' : 'resumable';
}

/** The settings a resumed run may take from the (updated) plan: the overridable ones. */
export function overridableSettings(s: TrainSettings): Partial<TrainSettings> {
  const out: Partial<TrainSettings> = {};
  for (const k of RESUME_OVERRIDABLE) (out as Record<string, unknown>)[k] = s[k];
  return out;
}

/**
 * Reads a stored comparison's plan and applies `overrides` (only the settings a run resume may change:
 * epochs, checkpoint/log cadence, backend, data directory), refusing any other change.
 */
export async function resumePlan(dir: string, overrides: Partial<TrainSettings>): Promise<ComparePlan> {
  const file = join(dir, 'compare.json');
  if (!existsSync(file))
    throw new UsageError(`--resume ${dir}: no compare.json there (not a comparison directory)`);
  const stored = (await readComparePlan(file)) as unknown as ComparePlan;
  const runs = stored.runs.map((run) => {
    const settings = { ...run.settings };
    for (const [k, v] of Object.entries(overrides) as Array<[keyof TrainSettings, unknown]>) {
      if (v === undefined || JSON.stringify(v) === JSON.stringify(settings[k])) continue;
      if (!RESUME_OVERRIDABLE.has(k))
        throw new UsageError(
          `compare --resume: cannot change '${k}' of a stored comparison (stored ${JSON.stringify(settings[k])}, given ${JSON.stringify(v)}); changeable: ${[...RESUME_OVERRIDABLE].join(', ')}`,
        );
      (settings as unknown as Record<string, unknown>)[k] = v;
    }
    return { ...run, settings };
  });
  return {
    kind: 'bmp-train-compare',
    version: 1,
    compareId: stored.compareId,
    dir: resolve(dir),
    createdAt: stored.createdAt,
    runs,
    resumes: [...(stored.resumes ?? []), { at: new Date().toISOString(), overrides }],
  };
}

/**
 * Continues an interrupted comparison: finished (and diverged) runs are read back, runs with a
 * checkpoint resume from it, runs never started (or started without a checkpoint, moved aside) start.
 * On the same backend the results equal those of an uninterrupted comparison.
 */
export async function resumeCompare(
  options: Omit<CompareOptions, 'settings' | 'model' | 'data' | 'lrs' | 'seeds' | 'name' | 'preset'> & {
    dir: string;
    /** Overridable settings (e.g. a larger `epochs`). */
    settings?: Partial<TrainSettings>;
    /** Runs at once in child processes (default 1: in this process). */
    jobs?: number;
    cli?: string;
    execArgv?: string[];
  },
): Promise<CompareResult> {
  const plan = await resumePlan(options.dir, options.settings ?? {});
  const reporter = options.reporter ?? callbackReporter(options.onProgress);
  const done = new Map<string, RunResult>();
  const todo: Array<{ run: PlannedRun; resume: boolean }> = [];
  for (const run of plan.runs) {
    const runDir = join(plan.dir, run.runName);
    const state = await runState(runDir, run.settings.epochs);
    if (state === 'finished' || state === 'diverged') {
      done.set(run.runName, await readRunResult(runDir, state === 'finished' ? 'completed' : 'diverged'));
      reporter.event({ type: 'message', run: run.runName, level: 'info', text: `${state}: skipped` });
      continue;
    }
    // a run started without a checkpoint resumes from its first step (train --resume does that)
    todo.push({ run, resume: state !== 'missing' });
  }
  if ((options.jobs ?? 1) > 1) {
    if (!options.cli) throw new Error('resumeCompare: jobs > 1 needs the CLI path (cli)');
    return compareInProcesses({
      reporter,
      signal: options.signal,
      cli: options.cli,
      jobs: options.jobs!,
      execArgv: options.execArgv,
      resume: { plan, done },
    });
  }
  await writeJsonAtomic(join(plan.dir, 'compare.json'), { ...plan, status: 'running' });
  for (const { run, resume } of todo) {
    const runDir = join(plan.dir, run.runName);
    const common = { reporter, signal: options.signal, skipBackendSetup: options.skipBackendSetup };
    let result: RunResult;
    try {
      result = resume
        ? await train({ resume: runDir, settings: overridableSettings(run.settings), ...common })
        : await train({ settings: run.settings, compareId: plan.compareId, ...common });
    } catch (e) {
      throw await recordFailures(plan.dir, plan, plan.runs.length, [failureOf(run.runName, runDir, e)]);
    }
    done.set(run.runName, result);
    if (result.status === 'interrupted') break;
  }
  const ordered = plan.runs.map((r) => done.get(r.runName)).filter((r): r is RunResult => r != null);
  const result: CompareResult = {
    compareId: plan.compareId,
    dir: plan.dir,
    runs: ordered,
    status: ordered.length < plan.runs.length ? 'interrupted' : overallStatus(ordered),
    ...summarize(plan, ordered),
  };
  await writeSummary(plan, result);
  return result;
}
