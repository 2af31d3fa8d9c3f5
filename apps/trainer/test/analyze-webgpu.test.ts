// `bmp-train analyze --backend webgpu` (Dawn in Node, llvmpipe on CI) against `--backend cpu` on the same
// tiny checkpoint and batch. Every product is float32 on both; the GPU sums in another order, so the
// reports differ by float32 rounding, amplified by nothing but the eigensolvers' conditioning:
// - eigenvalues of a dense spectrum, the k largest Ritz values, traces and eq. (24)'s trace/dim:
//   |gpu - cpu| <= 1e-5 * max|lambda| (measured: at most 4e-7, the float32 rounding of the products);
// - sigma_min and the condition number: relative 1e-3 (measured: 1e-5; sigma_min is a small eigenvalue,
//   so its relative error is the absolute one above over sigma_min);
// - the smallest Ritz values are not compared one by one: near-zero eigenvalues (the Hessians are
//   singular) show up in rounding-dependent numbers, so Lanczos may stop a step earlier or later and
//   report another copy of 0 among the k smallest.
// The claims' checks run on the cpu backend in both (WebGPU cannot read synchronously in Node), so they
// must be identical.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@bmp/backends';
import { type AnalysisReport, analysisReportSchema, type Spectrum } from '@bmp/runlog';
import { webgpuOrSkip } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, TINY_MLP, tempDir } from './helpers';

const dir = tempDir();
const run = join(dir, 'mlp');
let available = false;
const reports: Record<'cpu' | 'webgpu', AnalysisReport> = {} as never;
const seconds: Record<string, number> = {};

beforeAll(async () => {
  available = await webgpuOrSkip(() => initBackend({ prefer: 'webgpu' }), 'analyze on webgpu');
  if (!available) return;
  const t = await runCli(['train', ...TINY_MLP, '--epochs', '1', '--log-dir', dir, '--run-name', 'mlp']);
  expect(t.code, t.stderr).toBe(0);
  // Blocks 2 and 3 of the MLP 64 -> 16 -> 16 -> 10, batch 4: H_z 64 dense, H_W 256 and 160 by Lanczos,
  // the top block's loss and a BN block, and the Marchenko-Pastur spectra.
  const args = ['--batch-size', '4', '--max-dense-dim', '100', '--blocks', 'dense2/kernel,dense3/kernel'];
  await Promise.all(
    (['cpu', 'webgpu'] as const).map(async (backend) => {
      const t0 = Date.now();
      const out = join(dir, `${backend}.json`);
      const r = await runCli(['analyze', run, ...args, '--backend', backend, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      seconds[backend] = (Date.now() - t0) / 1000;
      reports[backend] = analysisReportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    }),
  );
}, 120_000);

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

describe('bmp-train analyze --backend webgpu (Node, Dawn)', () => {
  it('gives the cpu report within float32 rounding: eigenvalues, Ritz values, traces, condition numbers', (ctx) => {
    if (!available) return ctx.skip();
    const [cpu, gpu] = [reports.cpu, reports.webgpu];
    expect([cpu.backend, gpu.backend]).toEqual(['cpu', 'webgpu']);
    expect(gpu.blocks.map((b) => b.name)).toEqual(['dense2/kernel', 'dense3/kernel']);
    const worst = { eigen: 0, trace: 0, condition: 0 };
    for (const [i, cb] of cpu.blocks.entries()) {
      const gb = gpu.blocks[i];
      expect(gb.spectra.map((s) => [s.matrix, s.eigenvalues.method])).toEqual(
        cb.spectra.map((s) => [s.matrix, s.eigenvalues.method]),
      );
      for (const [j, c] of cb.spectra.entries()) {
        const g: Spectrum = gb.spectra[j];
        const ce = c.eigenvalues.eigenvalues as number[];
        const ge = g.eigenvalues.eigenvalues as number[];
        const top = Math.max(...ce.map(Math.abs));
        const where = `${cb.name} ${c.matrix}`;
        if (c.eigenvalues.method === 'dense') {
          expect(ge.length, where).toBe(ce.length);
          for (let k = 0; k < ce.length; k++)
            worst.eigen = Math.max(worst.eigen, Math.abs(ge[k] - ce[k]) / top);
          expect(g.condition.rank, where).toBe(c.condition.rank);
        } else {
          expect(g.eigenvalues.converged && c.eigenvalues.converged, where).toBe(true);
          const k = 3; // --lanczos-k default: the k largest are the last k values
          for (let q = 1; q <= k; q++)
            worst.eigen = Math.max(worst.eigen, Math.abs(ge[ge.length - q] - ce[ce.length - q]) / top);
          const trace = (x: Spectrum) => (x as Spectrum & { trace: { value: number } }).trace.value;
          worst.trace = Math.max(worst.trace, relative(trace(g), trace(c)));
        }
        worst.condition = Math.max(
          worst.condition,
          relative(g.condition.value, c.condition.value),
          relative(g.condition.sigmaMin ?? 0, c.condition.sigmaMin ?? 0),
        );
      }
      for (const key of ['exactW', 'exactZ', 'ratioW', 'ratioZ'] as const)
        worst.trace = Math.max(worst.trace, relative(gb.eq24![key]!, cb.eq24![key]!));
      expect([gb.eq24!.mW, gb.eq24!.mZ]).toEqual([cb.eq24!.mW, cb.eq24!.mZ]);
    }
    console.log(
      `analyze webgpu vs cpu: eigenvalues ${worst.eigen.toExponential(1)} of max|lambda|, traces ` +
        `${worst.trace.toExponential(1)}, condition numbers ${worst.condition.toExponential(1)} (relative); ` +
        `cpu ${seconds.cpu} s, webgpu ${seconds.webgpu} s`,
    );
    expect(worst.eigen).toBeLessThan(1e-5);
    expect(worst.trace).toBeLessThan(1e-5);
    expect(worst.condition).toBeLessThan(1e-3);
  });

  it("runs the claims' checks on the cpu backend, says so, and gets the cpu run's results", (ctx) => {
    if (!available) return ctx.skip();
    expect(reports.webgpu).toMatchObject({ claimsBackend: 'cpu' });
    expect(reports.webgpu.claimsNote).toMatch(/cpu backend/);
    expect(reports.cpu.claimsBackend).toBeUndefined();
    expect(reports.webgpu.claims.length).toBe(10);
    expect(reports.webgpu.claims).toEqual(reports.cpu.claims);
  });
});
