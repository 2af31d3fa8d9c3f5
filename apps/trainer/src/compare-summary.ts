/** A comparison's results: the summary table (mean ± std over seeds), the hash checks, compare.json. */
import { join } from 'node:path';
import type { ComparePlan } from './compare-plan';
import type { OptimizerId, TrainSettings } from './config';
import { type RunResult, readEpochRecords } from './run';
import { readStoredConfig } from './run-config';
import { writeJsonAtomic } from './runlog';

export interface SummaryRow {
  optimizer: OptimizerId;
  lr: number;
  seeds: number;
  finalTestError: { mean: number | null; std: number | null };
  bestTestError: { mean: number | null; std: number | null };
  secondsPerEpoch: number | null;
}

export interface CompareResult {
  compareId: string;
  dir: string;
  runs: RunResult[];
  summary: SummaryRow[];
  checks: {
    seed: number;
    initWeightsHashes: string[];
    initWeightsMatch: boolean;
    orderHashesMatch: boolean;
  }[];
  status: 'completed' | 'interrupted' | 'diverged';
}

function meanStd(xs: number[]): { mean: number | null; std: number | null } {
  if (xs.length === 0) return { mean: null, std: null };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, std: null };
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(v) };
}

export function summarize(plan: ComparePlan, runs: RunResult[]): Pick<CompareResult, 'summary' | 'checks'> {
  const summary: SummaryRow[] = [];
  const keys = new Map<string, RunResult[]>();
  for (const r of runs) {
    const k = `${r.optimizer}|${r.lr}`;
    keys.set(k, [...(keys.get(k) ?? []), r]);
  }
  for (const [k, group] of keys) {
    const [optimizer, lr] = k.split('|');
    const fin = group.map((r) => r.finalTestError).filter((x): x is number => x != null);
    const best = group.map((r) => r.bestTestError).filter((x): x is number => x != null);
    const spe = group.map((r) => r.secondsPerEpoch).filter((x): x is number => x != null);
    summary.push({
      optimizer: optimizer as OptimizerId,
      lr: Number(lr),
      seeds: group.length,
      finalTestError: meanStd(fin),
      bestTestError: meanStd(best),
      secondsPerEpoch: meanStd(spe).mean,
    });
  }
  const checks: CompareResult['checks'] = [];
  for (const seed of new Set(plan.runs.map((r) => r.seed))) {
    const group = runs.filter((r) => r.seed === seed);
    const hashes = group.map((r) => r.initWeightsHash);
    const orders = group.map((r) => r.epochs.map((e) => e.orderHash).join(','));
    // runs may have different lengths when one diverged: compare the common prefix
    const n = Math.min(...group.map((r) => r.epochs.length));
    const prefix = orders.map((o) => o.split(',').slice(0, n).join(','));
    checks.push({
      seed,
      initWeightsHashes: hashes,
      initWeightsMatch: new Set(hashes).size <= 1,
      orderHashesMatch: new Set(prefix).size <= 1,
    });
  }
  return { summary, checks };
}

const pct = (x: number | null) => (x == null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
const pm = (v: { mean: number | null; std: number | null }) =>
  v.mean == null ? 'n/a' : v.std == null ? pct(v.mean) : `${pct(v.mean)} ± ${(100 * v.std).toFixed(2)}`;

export function formatTable(result: Pick<CompareResult, 'summary'>): string {
  const header = ['optimizer', 'lr', 'seeds', 'final test error', 'best test error', 's / epoch'];
  const rows = result.summary.map((r) => [
    r.optimizer,
    String(r.lr),
    String(r.seeds),
    pm(r.finalTestError),
    pm(r.bestTestError),
    r.secondsPerEpoch == null ? 'n/a' : r.secondsPerEpoch.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function summaryFields(result: CompareResult) {
  return {
    summary: result.summary,
    checks: result.checks,
    results: result.runs.map(({ epochs: _e, ...r }) => r),
  };
}

export async function writeSummary(plan: ComparePlan, result: CompareResult): Promise<void> {
  await writeJsonAtomic(join(plan.dir, 'compare.json'), {
    ...plan,
    status: result.status,
    ...summaryFields(result),
  });
}

/** Reads back a finished (or interrupted) run from its directory. */
export async function readRunResult(
  runDir: string,
  status: RunResult['status'],
  message?: string,
): Promise<RunResult> {
  const cfg = await readStoredConfig(join(runDir, 'config.json'));
  const epochs = await readEpochRecords(join(runDir, 'metrics.jsonl'));
  const errs = epochs.map((e) => e.testError).filter((x): x is number => x !== undefined);
  return {
    runName: cfg.runName,
    runDir,
    optimizer: cfg.optimizer,
    lr: (cfg.settings as unknown as TrainSettings).lr,
    seed: cfg.seed,
    compareId: cfg.compareId,
    status,
    message,
    initWeightsHash: cfg.initWeightsHash,
    epochs,
    finalTestError: errs.length ? errs[errs.length - 1] : null,
    bestTestError: errs.length ? Math.min(...errs) : null,
    secondsPerEpoch: epochs.length
      ? epochs.reduce((t, e) => t + (e.epochSeconds ?? 0), 0) / epochs.length
      : null,
  };
}

export function overallStatus(runs: RunResult[]): CompareResult['status'] {
  if (runs.some((r) => r.status === 'interrupted')) return 'interrupted';
  if (runs.some((r) => r.status === 'diverged')) return 'diverged';
  return 'completed';
}
