/**
 * End-to-end: the built viewer in real headless Chromium (Debian's `chromium`, driven by playwright-core),
 * served by the viewer's own server over a copy of the committed fixture (a real bmp-train compare).
 * Skips with a notice when no Chromium is installed, unless BMP_REQUIRE_BROWSER=1 (set by .ci/run).
 */
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewerServer, type ViewerServer } from '../src/server/server';

const here = dirname(fileURLToPath(import.meta.url));
const webDir = join(here, '../dist/web');
const artifacts = join(here, '../test-artifacts');
const chromiumPath = process.env.BMP_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const required = process.env.BMP_REQUIRE_BROWSER === '1';
if (!haveChromium && !required) {
  console.warn(
    `notice: browser tests skipped: no Chromium at ${chromiumPath} (apt-get install chromium, or set BMP_CHROMIUM; BMP_REQUIRE_BROWSER=1 makes this a failure)`,
  );
}

interface ChartRecord {
  title: string;
  labels: string[];
  logY: boolean;
  logX: boolean;
  data: (number | null)[][];
}

const RUNS = [
  'fx/scale-amended-lr0.02-seed0',
  'fx/scale-amended-lr0.02-seed1',
  'fx/sgd-lr0.1-seed0',
  'fx/sgd-lr0.1-seed1',
];
const BROKEN = 'fx/sgd-lr0.1-seed1';
const WEBGPU_RUN = 'fx/scale-amended-lr0.02-seed1';
const LLVMPIPE_DEVICE = {
  kind: 'software-gpu',
  label: 'mesa software (llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)) [software: WebGPU emulated on the CPU]',
  adapter: {
    vendor: 'mesa',
    architecture: 'software',
    device: 'llvmpipe',
    description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)',
    software: true,
  },
};

/** Epoch records of a fixture run, parsed here independently of the viewer. */
function fixtureEpochs(logs: string, run: string): Record<string, number>[] {
  return readFileSync(join(logs, run, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        const r = JSON.parse(l);
        return r.type === 'epoch' ? [r] : [];
      } catch {
        return [];
      }
    });
}

describe.skipIf(!haveChromium && !required)('viewer in headless Chromium', () => {
  let browser: Browser;
  let server: ViewerServer;
  let page: Page;
  let tmp: string;
  let logs: string;
  let brokenLine: number;

  const charts = () =>
    page.evaluate(() => window.__bmpViewer?.charts ?? {}) as Promise<Record<string, ChartRecord>>;
  const textOf = async (testId: string) => {
    await page.getByTestId(testId).first().waitFor();
    return page.getByTestId(testId).first().textContent();
  };
  const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const go = async (hash: string, chart?: string) => {
    await page.goto(`${server.url}${hash}`);
    if (chart) await page.waitForFunction((id) => !!window.__bmpViewer?.charts[id], chart);
    else await page.waitForFunction(() => (window.__bmpViewer?.renders ?? 0) > 0);
  };
  /** The pixels of a chart's canvas. */
  const canvas = (id: string) =>
    page.evaluate(
      (i) => document.querySelector<HTMLCanvasElement>(`[data-chart="${i}"] canvas`)!.toDataURL(),
      id,
    );

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`BMP_REQUIRE_BROWSER=1 but there is no Chromium at ${chromiumPath}`);
    if (!existsSync(join(webDir, 'index.html')))
      throw new Error(`${webDir} is not built: run pnpm --filter @bmp/viewer build`);
    mkdirSync(artifacts, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'bmp-viewer-e2e-'));
    logs = join(tmp, 'logs');
    cpSync(join(here, 'fixtures/logs'), logs, { recursive: true });
    // A crash mid-write and a garbage line: both must be reported in the page and skipped.
    const metrics = join(logs, BROKEN, 'metrics.jsonl');
    brokenLine = readFileSync(metrics, 'utf8').split('\n').length;
    appendFileSync(metrics, 'this is not json\n{"type":"epoch","v":1,"epo');
    // One run as bmp-train records a run on a WebGPU software adapter (the fixtures predate the device).
    const webgpuConfig = join(logs, WEBGPU_RUN, 'config.json');
    const config = JSON.parse(readFileSync(webgpuConfig, 'utf8'));
    writeFileSync(webgpuConfig, JSON.stringify({ ...config, backend: 'webgpu', device: LLVMPIPE_DEVICE }));
    server = await startViewerServer({ logDir: logs, staticDir: webDir, port: 0 });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      // SwiftShader gives headless Chromium a (software) WebGPU adapter and WebGL.
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-angle=swiftshader', '--enable-features=Vulkan'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('lists the runs and reports the malformed lines it skipped', async () => {
    await go('#/');
    const names = await page.locator('[data-testid=run-row] td:nth-child(3)').allTextContents();
    expect(names).toEqual(RUNS);
    const backends = await page.getByTestId('run-backend').allTextContents();
    expect(backends[RUNS.indexOf(WEBGPU_RUN)]).toBe(
      'webgpullvmpipe: Mesa 25.0.7 (LLVM 15.0.6) (software, emulated on the CPU)',
    );
    expect(backends.filter((b) => b === 'cpu')).toHaveLength(RUNS.length - 1); // no device recorded: the backend
    const problems = await textOf('problems');
    expect(problems).toContain(`${BROKEN}: metrics.jsonl line ${brokenLine}: not valid JSON`);
    expect(problems).toContain(`${BROKEN}: metrics.jsonl line ${brokenLine + 1}: incomplete last line`);
    await shot('runs');
  });

  it('draws every run on the curve charts, with the logged values', async () => {
    await go('#/curves', 'curve-testError');
    const c = await charts();
    expect(Object.keys(c).sort()).toEqual([
      'curve-imagesPerSecond',
      'curve-lr',
      'curve-testError',
      'curve-trainLoss',
    ]);
    for (const chart of Object.values(c)) expect(chart.labels).toEqual(RUNS);
    const te = c['curve-testError'];
    expect(te.data[0]).toEqual([1, 2, 3, 4]);
    RUNS.forEach((run, i) => {
      expect(te.data[i + 1]).toEqual(fixtureEpochs(logs, run).map((r) => r.testError));
    });
    expect(await page.locator('[data-chart=curve-testError] .u-legend').textContent()).toContain(
      'fx/sgd-lr0.1-seed0',
    );
    await shot('curves');
  });

  it('smoothing and log scale change what is drawn', async () => {
    await go('#/curves', 'curve-trainLoss');
    const before = (await charts())['curve-trainLoss'];
    const pixelsBefore = await canvas('curve-trainLoss');
    await page.getByTestId('smoothing').fill('0.6');
    await page.waitForFunction(
      (old) => JSON.stringify(window.__bmpViewer?.charts['curve-trainLoss']?.data) !== old,
      JSON.stringify(before.data),
    );
    const after = (await charts())['curve-trainLoss'];
    // Debiased EMA by hand: last = w last + (1 - w) y; shown last / (1 - w^k).
    const raw = fixtureEpochs(logs, RUNS[0]).map((r) => r.trainLoss);
    let last = 0;
    const expected = raw.map((y, k) => {
      last = 0.6 * last + 0.4 * y;
      return last / (1 - 0.6 ** (k + 1));
    });
    after.data[1].forEach((y, k) => {
      expect(y).toBeCloseTo(expected[k], 10);
    });
    expect(await canvas('curve-trainLoss')).not.toBe(pixelsBefore);
    const pixelsSmooth = await canvas('curve-trainLoss');
    await page.getByTestId('log-scale').check();
    await page.waitForFunction(() => window.__bmpViewer?.charts['curve-trainLoss']?.logY === true);
    expect(await canvas('curve-trainLoss')).not.toBe(pixelsSmooth);
    await shot('curves-smoothed-log');
    await page.getByTestId('log-scale').uncheck();
    await page.getByTestId('smoothing').fill('0');
  });

  it('shows mean and spread across seeds per optimizer', async () => {
    await go('#/curves', 'curve-testError');
    await page.getByTestId('seed-mean').check();
    await page.waitForFunction(() =>
      window.__bmpViewer?.charts['curve-testError']?.labels[0]?.includes('mean'),
    );
    const te = (await charts())['curve-testError'];
    expect(te.labels).toEqual([
      'fx / sgd mean (2 seeds)',
      'fx / sgd mean - std',
      'fx / sgd mean + std',
      'fx / scale-amended mean (2 seeds)',
      'fx / scale-amended mean - std',
      'fx / scale-amended mean + std',
    ]);
    const a = fixtureEpochs(logs, 'fx/sgd-lr0.1-seed0').map((r) => r.testError);
    const b = fixtureEpochs(logs, 'fx/sgd-lr0.1-seed1').map((r) => r.testError);
    a.forEach((y, i) => {
      const mean = (y + b[i]) / 2;
      const std = Math.abs(y - b[i]) / Math.SQRT2; // sample std of two values
      expect(te.data[1][i]).toBeCloseTo(mean, 12);
      expect(te.data[2][i]).toBeCloseTo(mean - std, 12);
      expect(te.data[3][i]).toBeCloseTo(mean + std, 12);
    });
    await shot('curves-seeds');
    await page.getByTestId('seed-mean').uncheck();
  });

  it('exports the shown series as CSV', async () => {
    await go('#/curves', 'curve-testError');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-chart=curve-testError] button.csv').click(),
    ]);
    const text = readFileSync((await download.path())!, 'utf8');
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe(`epoch,${RUNS.join(',')}`);
    expect(lines).toHaveLength(5);
    const first = fixtureEpochs(logs, RUNS[0])[0].testError;
    expect(Number(lines[1].split(',')[1])).toBe(first);
  });

  it('draws per-block backward factors of a scale-amended run', async () => {
    await go('#/scales', 'scale-mW');
    const c = await charts();
    expect(Object.keys(c).sort()).toEqual(['scale-m', 'scale-mW', 'scale-mZ']);
    expect(c['scale-mW'].labels).toEqual(['dense1/kernel', 'dense2/kernel', 'dense3/kernel']);
    const epochs = fixtureEpochs(logs, RUNS[0]) as unknown as { scales: { mW: number }[] }[];
    expect(c['scale-mW'].data[1]).toEqual(epochs.map((e) => e.scales[0].mW));
    await shot('scales');
  });

  it('draws spectra with the Marchenko-Pastur law, condition numbers and claims from analysis.json', async () => {
    const report = JSON.parse(readFileSync(join(logs, 'fx/sgd-lr0.1-seed0/analysis.json'), 'utf8')) as {
      blocks: {
        eq24?: unknown;
        spectra: {
          dimension: number;
          condition: { value: number };
          marchenkoPastur?: { c: number };
          eigenvalues: { method: string; count: number; density?: { probes: number; lanczosSteps: number } };
        }[];
      }[];
      claims: { passed: boolean }[];
    };
    const last = report.blocks.length - 1;
    await go('#/spectra', `spectrum-${last}-${report.blocks[last].spectra.length - 1}`);
    const c = await charts();
    const spectra = report.blocks.flatMap((bl, bi) =>
      bl.spectra.map((sp, si) => ({ id: `spectrum-${bi}-${si}`, sp })),
    );
    expect(Object.keys(c).sort()).toEqual(spectra.map((x) => x.id).sort());
    // Every spectrum is a density curve labelled with its method (exact: every eigenvalue; SLQ otherwise,
    // and beside the exact one where both exist); Lanczos extremes are markers; never a histogram.
    for (const { id, sp } of spectra) {
      const labels = c[id].labels;
      const d = sp.eigenvalues.density;
      const slq = d ? `SLQ, ${d.probes} probes x ${d.lanczosSteps} steps` : null;
      if (sp.eigenvalues.method === 'dense') {
        expect(labels[0]).toBe(`exact, ${sp.dimension} eigenvalues`);
        if (slq) expect(labels[1]).toContain(slq);
      } else {
        expect(labels[0]).toContain(slq);
        expect(labels.some((l) => l.startsWith('Lanczos extremes'))).toBe(true);
      }
      expect(labels.some((l) => l.includes('(n=') || l.includes('histogram'))).toBe(false);
      expect(labels.filter((l) => l.startsWith('Marchenko-Pastur c='))).toHaveLength(
        sp.marchenkoPastur ? 1 : 0,
      );
    }
    expect(spectra.some((x) => x.sp.marchenkoPastur)).toBe(true);
    expect(spectra.some((x) => x.sp.eigenvalues.method === 'lanczos')).toBe(true);
    // These spectra span more than two decades: log axes, with the zero mass in the note.
    expect(spectra.some((x) => c[x.id].logX)).toBe(true);
    expect((await page.getByTestId('spectrum-note').allTextContents()).join(' ')).toContain('at |lambda| <=');
    // The SLQ-only chart (dense1's H_z, above --max-dense-dim 512 in the fixture) and an exact one with
    // the SLQ overlay, for the docs.
    const slqOnly = spectra.find((x) => x.sp.eigenvalues.method === 'lanczos')!;
    await page
      .locator(`[data-chart="${slqOnly.id}"]`)
      .screenshot({ path: join(artifacts, 'spectra-slq.png') });
    const both = spectra.find((x) => x.sp.eigenvalues.method === 'dense' && x.sp.eigenvalues.density)!;
    await page
      .locator(`[data-chart="${both.id}"]`)
      .screenshot({ path: join(artifacts, 'spectra-exact-vs-slq.png') });
    const conds = await page.getByTestId('condition').allTextContents();
    expect(conds).toHaveLength(spectra.length);
    // Shown to 4 significant digits.
    spectra.forEach(({ sp }, i) => {
      expect(Math.abs(Number(conds[i]) / sp.condition.value - 1)).toBeLessThan(1e-3);
    });
    expect(await page.getByTestId('claims').locator('tbody tr').count()).toBe(report.claims.length);
    expect(await page.getByTestId('claims').locator('td.pass').count()).toBe(
      report.claims.filter((x) => x.passed).length,
    );
    expect(await page.getByTestId('eq24').locator('tbody tr').count()).toBe(
      report.blocks.filter((x) => x.eq24).length,
    );
    await shot('spectra');
  });

  it('computes a local-Hessian spectrum in the Hessian lab on the backend it reports', async () => {
    await go('#/lab');
    await page.waitForFunction(
      () => (window.__bmpViewer?.lab as { status: string })?.status === 'done',
      null,
      {
        timeout: 60_000,
      },
    );
    const lab = (await page.evaluate(() => window.__bmpViewer?.lab)) as {
      backend: string;
      tried: { name: string; error?: string }[];
      dim: number;
      eigenvalueCount: number;
      condition: number;
    };
    // auto: webgpu, webgl, wasm, cpu in that order; the page names the one that loaded and why others did not.
    const order = ['webgpu', 'webgl', 'wasm', 'cpu'];
    expect(order).toContain(lab.backend);
    expect(lab.tried.at(-1)).toEqual({ name: lab.backend });
    for (const t of lab.tried.slice(0, -1))
      expect(t.error, `${t.name} was skipped without a reason`).toMatch(/\w/);
    console.log(`Hessian lab auto backend: ${lab.backend}; tried ${JSON.stringify(lab.tried)}`);
    expect(await page.getByTestId('backend-name').textContent()).toBe(lab.backend);
    expect(lab.eigenvalueCount).toBe(64);
    expect(Number.isFinite(lab.condition)).toBe(true);
    await shot(`lab-${lab.backend}`);
    // Each backend asked for by name computes the same matrix (float32 on different hardware paths).
    for (const name of ['wasm', 'cpu']) {
      const runs = (await page.evaluate(
        () => (window.__bmpViewer?.lab as { runs: number } | undefined)?.runs ?? 0,
      )) as number;
      await page.locator('select[name=backend]').selectOption(name);
      await page.waitForFunction(
        (n) => {
          const l = window.__bmpViewer?.lab as { runs: number; status: string } | undefined;
          return l !== undefined && l.runs > n && l.status === 'done';
        },
        runs,
        { timeout: 60_000 },
      );
      const r = (await page.evaluate(() => window.__bmpViewer?.lab)) as {
        backend: string;
        condition: number;
      };
      expect(r.backend).toBe(name);
      expect(await page.getByTestId('backend-name').textContent()).toBe(name);
      expect(r.condition).toBeCloseTo(lab.condition, 2);
    }
    await page.locator('select[name=skip]').selectOption('identity');
    await page.waitForFunction(
      () => (window.__bmpViewer?.lab as { status: string } | undefined)?.status === 'error',
    );
    expect(await page.getByTestId('lab-result').textContent()).toContain(
      'a skip connection needs n_in = n_out',
    );
  });

  it('gives a helpful empty state for a missing log directory, and opens picked files', async () => {
    const missing = await startViewerServer({
      logDir: join(tmp, 'nothing-here'),
      staticDir: webDir,
      port: 0,
    });
    try {
      await page.goto(missing.url);
      const empty = await textOf('empty-state');
      expect(empty).toContain('does not exist');
      expect(empty).toContain('pnpm bmp-train compare --log-dir');
      await shot('empty-state');
      const dir = join(logs, RUNS[2]);
      await page.locator('#pick-files').setInputFiles([join(dir, 'config.json'), join(dir, 'metrics.jsonl')]);
      await page.locator('[data-testid=run-row]').first().waitFor();
      expect(await page.locator('[data-testid=run-row] td:nth-child(3)').allTextContents()).toEqual([
        'picked',
      ]);
      expect(await page.locator('#source-label').textContent()).toContain('2 file(s) you opened');
      await shot('picked-files');
    } finally {
      await missing.close();
    }
  });
});
