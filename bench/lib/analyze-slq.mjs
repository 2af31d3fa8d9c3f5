// `pnpm bench hessian --analyze <run-dir>`: bmp-train analyze of a run's latest checkpoint with the SLQ
// density (the defaults) and without it (--slq-probes 0: Lanczos extremes and 16 Hutchinson probes, as
// before SLQ), alternating so that both see the same machine load. Wall and CPU seconds (user + sys, from
// /usr/bin/time: less sensitive to other jobs than wall time on a shared machine) and each block's seconds
// from the command's --json progress lines.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, round } from './stats.mjs';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../apps/trainer/dist/cli.js');

const VARIANTS = [
  { name: 'with SLQ (defaults)', args: [] },
  { name: 'without SLQ (--slq-probes 0)', args: ['--slq-probes', '0'] },
];

function once(runDir, extra, tmp) {
  const out = join(tmp, 'analysis.json');
  const timing = join(tmp, 'time.txt');
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%e %U %S',
      '-o',
      timing,
      process.execPath,
      CLI,
      'analyze',
      runDir,
      '--out',
      out,
      '--json',
      ...extra,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
  );
  if (r.status !== 0) throw new Error(`analyze failed: ${(r.stderr || r.error?.message || '').trim()}`);
  const [wall, user, sys] = readFileSync(timing, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const blocks = Object.fromEntries(
    events.filter((e) => e.type === 'block').map((e) => [e.name, round(e.seconds, 2)]),
  );
  const done = events.find((e) => e.type === 'done');
  const report = JSON.parse(readFileSync(out, 'utf8'));
  // Autodiff products: dim per explicit matrix, the Lanczos run, SLQ's further probes (its first is the
  // Lanczos run) and Hutchinson's. Below --max-dense-dim SLQ multiplies by the explicit matrix: none.
  const products = report.blocks
    .flatMap((b) => b.spectra)
    .filter((sp) => sp.matrix === 'Hz' || sp.matrix === 'HW')
    .reduce((s, sp) => {
      const ev = sp.eigenvalues;
      const d = ev.density;
      const own = ev.method === 'dense' ? sp.dimension : (ev.matVecs ?? 0);
      const slq = d && ev.method === 'lanczos' ? d.matVecs - d.firstProbeSteps : 0;
      const trace = ev.method === 'dense' ? 0 : (sp.trace?.products ?? report.settings.traceProbes);
      return s + own + slq + trace;
    }, 0);
  return { wallS: wall, cpuS: round(user + sys, 2), ownSeconds: done?.seconds, blocks, report, products };
}

/** Alternates the two variants `repeats` times; returns medians, ratios and the SLQ report's distances. */
export function benchAnalyzeSlq(runDir, repeats, notes, keepReport) {
  if (!existsSync(CLI)) throw new Error(`no ${CLI}: build first (pnpm turbo run build)`);
  if (!existsSync('/usr/bin/time')) notes.push('no /usr/bin/time: CPU seconds not measured');
  const tmp = mkdtempSync(join(os.tmpdir(), 'bmp-bench-analyze-'));
  const runs = VARIANTS.map(() => []);
  let slqReport = null;
  try {
    for (let i = 0; i < repeats; i++) {
      for (const [v, variant] of VARIANTS.entries()) {
        const r = once(resolve(runDir), variant.args, tmp);
        if (v === 0) slqReport = r.report;
        delete r.report;
        runs[v].push({ ...r, loadAverage1m: round(os.loadavg()[0], 2) });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (keepReport) writeFileSync(keepReport, `${JSON.stringify(slqReport, null, 2)}\n`);
  const summary = VARIANTS.map((variant, v) => ({
    variant: variant.name,
    medianWallS: median(runs[v].map((r) => r.wallS)),
    medianCpuS: median(runs[v].map((r) => r.cpuS)),
    products: runs[v][0].products,
    runs: runs[v],
  }));
  const distances = slqReport.blocks.flatMap((b) =>
    b.spectra
      .filter((s) => s.eigenvalues.density?.exactDistance)
      .map((s) => ({
        block: b.name,
        matrix: s.matrix,
        dim: s.dimension,
        ...s.eigenvalues.density.exactDistance,
      })),
  );
  return {
    runDir: resolve(runDir),
    repeats,
    settings: slqReport.settings,
    summary,
    wallRatio: round(summary[0].medianWallS / summary[1].medianWallS, 3),
    cpuRatio: round(summary[0].medianCpuS / summary[1].medianCpuS, 3),
    distances,
  };
}
