/** A comparison's plan: every run (optimizer, learning rate, seed) with its settings, as compare.json stores it. */
import { join } from 'node:path';
import { OPTIMIZERS, type OptimizerId, resolveSettings, type TrainSettings, UsageError } from './config';
import type { ProgressEvent, Reporter } from './progress';
import { readComparePlan } from './runlog';
import { type ModelInput, resolveLogDir, type UserData } from './train';

export interface PlannedRun {
  runName: string;
  optimizer: OptimizerId;
  lr: number;
  seed: number;
  settings: TrainSettings;
}

export interface ComparePlan {
  kind: 'bmp-train-compare';
  version: 1;
  compareId: string;
  dir: string;
  createdAt: string;
  runs: PlannedRun[];
  /** One entry per `compare --resume`, with the settings it changed. */
  resumes?: unknown[];
}

export interface CompareOptions {
  settings?: Partial<TrainSettings>;
  preset?: string;
  /** Learning rates per optimizer (default: the preset's, else settings.lr). */
  lrs?: Partial<Record<OptimizerId, number[]>>;
  /** Seeds (default [settings.seed]). */
  seeds?: number[];
  /** Name of the comparison (its directory under the log dir). */
  name?: string;
  /**
   * Your model: a factory `(seed) => model` (one model per seed), or one model whose initial state is
   * restored before every run (then only one seed is possible).
   */
  model?: ModelInput | ((seed: number) => ModelInput);
  data?: UserData;
  onProgress?: (e: ProgressEvent) => void;
  reporter?: Reporter;
  signal?: AbortSignal;
  skipBackendSetup?: boolean;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function planCompare(options: CompareOptions): ComparePlan {
  const base = resolveSettings(options.settings ?? {}, options.preset, 'sgd');
  const seeds = options.seeds ?? [base.seed];
  if (seeds.length === 0) throw new UsageError('--seeds: at least one seed');
  const lrs: Record<OptimizerId, number[]> = { sgd: [], 'scale-amended': [] };
  for (const opt of OPTIMIZERS) {
    const given = options.lrs?.[opt];
    lrs[opt] =
      given && given.length > 0 ? given : [resolveSettings(options.settings ?? {}, options.preset, opt).lr];
    for (const lr of lrs[opt])
      if (!(lr > 0)) throw new UsageError(`--lr-${opt}: learning rates must be > 0, got ${lr}`);
  }
  const name = options.name ?? base.runName ?? `compare-${timestamp()}`;
  const dir = join(resolveLogDir(base.logDir), name);
  const runs: PlannedRun[] = [];
  for (const seed of seeds) {
    for (const optimizer of OPTIMIZERS) {
      for (const lr of lrs[optimizer]) {
        const runName = `${optimizer}-lr${lr}-seed${seed}`;
        const settings: TrainSettings = {
          ...resolveSettings({ ...(options.settings ?? {}), optimizer, lr, seed }, options.preset, optimizer),
          logDir: dir,
          runName,
        };
        runs.push({ runName, optimizer, lr, seed, settings });
      }
    }
  }
  return {
    kind: 'bmp-train-compare',
    version: 1,
    compareId: name,
    dir,
    createdAt: new Date().toISOString(),
    runs,
  };
}

/** The settings of one planned run (what a child process runs). */
export async function plannedRun(
  dir: string,
  runName: string,
): Promise<{ plan: ComparePlan; run: PlannedRun }> {
  const plan = (await readComparePlan(join(dir, 'compare.json'))) as unknown as ComparePlan;
  const run = plan.runs.find((r) => r.runName === runName);
  if (!run) throw new UsageError(`--compare-run: no run '${runName}' in ${dir}/compare.json`);
  return { plan, run };
}
