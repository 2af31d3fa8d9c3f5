/** `sweep status` and `sweep cancel`, and the tables a sweep prints. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { runState } from './compare-resume';
import { UsageError } from './errors';
import { writeJsonAtomic } from './runlog';
import { readSweepPlan, SWEEP_FILE, type SweepPlan, type SweepRunStatus } from './sweep-plan';
import { runResultOf, summarizeGroups } from './sweep-summary';

/** Whether the sweep's recorded process still runs (on this host). */
export function isAlive(plan: SweepPlan): boolean {
  if (plan.status !== 'running' || plan.pid == null || plan.host !== hostname()) return false;
  try {
    process.kill(plan.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SweepRunState {
  runName: string;
  state: SweepRunStatus | 'stopped';
  epoch: number;
  epochs: number;
  testError: number | null;
}

async function queuedRunState(runDir: string, epochs: number): Promise<SweepRunStatus> {
  const state = await runState(runDir, epochs);
  return state === 'missing' ? 'pending' : state === 'finished' || state === 'diverged' ? state : 'running';
}

/** Each run's state now: sweep.json's, with the epochs done read from its metrics.jsonl. */
export async function sweepStatus(
  dir: string,
): Promise<{ plan: SweepPlan; alive: boolean; runs: SweepRunState[] }> {
  const plan = await readSweepPlan(dir);
  const alive = isAlive(plan);
  const runs: SweepRunState[] = [];
  for (const run of plan.runs) {
    let epochs = run.result?.epochs ?? 0;
    let testError = run.result?.finalTestError ?? null;
    try {
      const r = await runResultOf(join(plan.dir, run.runName));
      epochs = r.epochs;
      testError = r.finalTestError;
    } catch {
      // a line being written: keep sweep.json's numbers
    }
    // 'running' in a sweep whose process is gone (killed): it stopped without saying so
    let state: SweepRunState['state'] = run.status === 'running' && !alive ? 'stopped' : run.status;
    // queued (sweep --queue): workers train the runs; their directories say how far they are
    if (plan.status === 'queued')
      state = await queuedRunState(join(plan.dir, run.runName), run.settings.epochs);
    runs.push({ runName: run.runName, state, epoch: epochs, epochs: run.settings.epochs, testError });
  }
  return { plan, alive, runs };
}

/**
 * Cancels a local sweep: a running one is sent SIGINT (as Ctrl-C: every running run checkpoints and
 * stops, runs not started stay pending) and waited for; then sweep.json says 'cancelled'.
 * `sweep --resume` takes a cancelled sweep up again.
 */
export async function cancelSweep(dir: string, waitMs = 120_000): Promise<SweepPlan> {
  let plan = await readSweepPlan(dir);
  if (isAlive(plan)) {
    process.kill(plan.pid!, 'SIGINT');
    const until = Date.now() + waitMs;
    while (isAlive(plan) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      plan = await readSweepPlan(dir);
    }
    if (isAlive(plan))
      throw new UsageError(`${dir}: the sweep (process ${plan.pid}) did not stop within ${waitMs / 1000} s`);
  }
  if (plan.status === 'completed') return plan;
  plan.status = 'cancelled';
  plan.cancelledAt = new Date().toISOString();
  delete plan.pid;
  delete plan.host;
  await writeJsonAtomic(join(dir, SWEEP_FILE), plan);
  return plan;
}

const pct = (x: number | null | undefined) => (x == null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
const pm = (v: { mean: number | null; std: number | null }, f: (x: number) => string) =>
  v.mean == null ? 'n/a' : v.std == null ? f(v.mean) : `${f(v.mean)} ± ${f(v.std).replace('%', '')}`;

function table(header: string[], rows: string[][], left = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The per-run and per-group tables. */
export function formatSweep(plan: SweepPlan): string {
  const runs = table(
    ['run', 'status', 'epochs', 'final test error', 'best test error', 'train loss'],
    plan.runs.map((r) => [
      r.runName,
      r.status,
      `${r.result?.epochs ?? 0}/${r.settings.epochs}`,
      pct(r.result?.finalTestError),
      pct(r.result?.bestTestError),
      r.result?.finalTrainLoss == null ? 'n/a' : r.result.finalTrainLoss.toFixed(4),
    ]),
    2,
  );
  const groups = plan.groups ?? summarizeGroups(plan);
  if (!plan.keys.includes('seed')) return runs;
  const grouped = table(
    ['group (mean ± std over seeds)', 'runs', 'final test error', 'best test error', 'train loss'],
    groups.map((g) => [
      g.group,
      `${g.finished}/${g.runs}`,
      pm(g.finalTestError, pct),
      pm(g.bestTestError, pct),
      pm(g.finalTrainLoss, (x) => x.toFixed(4)),
    ]),
  );
  return `${runs}\n\n${grouped}`;
}

/** `sweep status`: one line per run. */
export function formatStatus(s: Awaited<ReturnType<typeof sweepStatus>>): string {
  const head = `sweep ${s.plan.sweepId} (${s.plan.dir}): ${s.plan.status}${s.alive ? ` (process ${s.plan.pid})` : s.plan.status === 'running' ? ' (its process is gone: continue with bmp-train sweep --resume)' : ''}`;
  return [
    head,
    table(
      ['run', 'state', 'epoch', 'test error'],
      s.runs.map((r) => [r.runName, r.state, `${r.epoch}/${r.epochs}`, pct(r.testError)]),
      2,
    ),
  ].join('\n');
}
