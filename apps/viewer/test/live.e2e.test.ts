/**
 * End-to-end live following: the built viewer in headless Chromium over a temporary log directory that
 * the test writes to while the page is open (a run growing, a run appearing), with no reload.
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
  utimesSync,
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
const fixture = join(here, 'fixtures/logs/fx');
const artifacts = join(here, '../test-artifacts');
const chromiumPath = process.env.BMP_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const required = process.env.BMP_REQUIRE_BROWSER === '1';
if (!haveChromium && !required) {
  console.warn(
    `notice: live browser tests skipped: no Chromium at ${chromiumPath} (BMP_REQUIRE_BROWSER=1 makes this a failure)`,
  );
}

const GROWING = 'live/run-a';
const DONE = 'live/run-old';
const NEW = 'live/run-b';
const SRC = join(fixture, 'sgd-lr0.1-seed0');

/** The fixture's metrics.jsonl lines (with their newlines), cut after its second epoch record. */
function fixtureLines(): { head: string; tail: string[] } {
  const lines = readFileSync(join(SRC, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `${l}\n`);
  let epochs = 0;
  const cut = lines.findIndex((l) => JSON.parse(l).type === 'epoch' && ++epochs === 2) + 1;
  return { head: lines.slice(0, cut).join(''), tail: lines.slice(cut) };
}

const testErrors = () =>
  readFileSync(join(SRC, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === 'epoch')
    .map((r) => r.testError as number);

describe.skipIf(!haveChromium && !required)('viewer following a log directory being written', () => {
  let browser: Browser;
  let server: ViewerServer;
  let page: Page;
  let tmp: string;
  let logs: string;
  /** The Range header of each request the page made for the growing run's metrics.jsonl. */
  const ranges: string[] = [];

  const chart = (id: string) =>
    page.evaluate((i) => window.__bmpViewer?.charts[i] ?? null, id) as Promise<{
      labels: string[];
      data: (number | null)[][];
    } | null>;
  const xRange = (id: string) => page.evaluate((i) => window.__bmpViewer?.xRange?.(i) ?? null, id);
  const runNames = () => page.locator('[data-testid=run-row] td:nth-child(3)').allTextContents();

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`BMP_REQUIRE_BROWSER=1 but there is no Chromium at ${chromiumPath}`);
    if (!existsSync(join(webDir, 'index.html')))
      throw new Error(`${webDir} is not built: run pnpm --filter @bmp/viewer build`);
    mkdirSync(artifacts, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'bmp-viewer-live-e2e-'));
    logs = join(tmp, 'logs');
    mkdirSync(join(logs, GROWING), { recursive: true });
    cpSync(join(SRC, 'config.json'), join(logs, GROWING, 'config.json'));
    writeFileSync(join(logs, GROWING, 'metrics.jsonl'), fixtureLines().head);
    cpSync(join(fixture, 'scale-amended-lr0.02-seed0'), join(logs, DONE), { recursive: true });
    server = await startViewerServer({ logDir: logs, staticDir: webDir, port: 0, pollMs: 300 });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (r.url().endsWith(`${GROWING}/metrics.jsonl`)) ranges.push(r.headers().range ?? 'whole');
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows new runs and new epochs in place, keeping selection, zoom and scroll', async () => {
    await page.goto(`${server.url}#/`);
    await page.waitForFunction(() => (window.__bmpViewer?.renders ?? 0) > 0);
    expect(await runNames()).toEqual([GROWING, DONE]);
    await page.waitForFunction(() =>
      /^live: updated \d\d:\d\d:\d\d$/.test(document.getElementById('live')?.textContent ?? ''),
    );
    // Marks this document: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { __notReloaded: boolean }).__notReloaded = true;
    });
    // The user unticks the finished run: it must stay unticked through the updates.
    await page.locator(`input[data-run="${DONE}"]`).uncheck();

    // A new run appears while the runs page is open.
    cpSync(join(fixture, 'sgd-lr0.1-seed1'), join(logs, NEW), { recursive: true });
    await page.waitForFunction(
      (n) =>
        [...document.querySelectorAll('[data-testid=run-row] td:nth-child(3)')].some(
          (td) => td.textContent === n,
        ),
      NEW,
      { timeout: 5000 },
    );
    expect(await runNames()).toEqual([GROWING, NEW, DONE]);
    expect(await page.locator(`input[data-run="${DONE}"]`).isChecked()).toBe(false);
    expect(await page.locator(`input[data-run="${NEW}"]`).isChecked()).toBe(true);

    // The curves page: the growing run has 2 epochs; zoom into the test-error chart, scroll down.
    await page.locator('a[href="#/curves"]').first().click();
    await page.waitForFunction(() => !!window.__bmpViewer?.charts['curve-testError']);
    const before = (await chart('curve-testError'))!;
    expect(before.labels).toEqual([GROWING, NEW]);
    expect(before.data[1].filter((v) => v !== null)).toHaveLength(2);
    const over = (await page.locator('[data-chart=curve-testError] .u-over').boundingBox())!;
    await page.mouse.move(over.x + over.width * 0.2, over.y + over.height / 2);
    await page.mouse.down();
    await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2, { steps: 5 });
    await page.mouse.up();
    const zoom = (await xRange('curve-testError'))!;
    expect(zoom.min).toBeGreaterThan(1);
    expect(zoom.max).toBeLessThan(4);
    // The curves are updated in place: the page is not drawn anew (its controls stay, and their focus).
    const renders = await page.evaluate(() => window.__bmpViewer?.renders);
    await page.getByTestId('smoothing').focus();
    await page.evaluate(() => window.scrollTo(0, 250));
    const scrollY = await page.evaluate(() => window.scrollY);
    expect(scrollY).toBeGreaterThan(0);

    // The run writes its last epochs and half of its stop event (a write in progress).
    const { tail } = fixtureLines();
    const last = tail.at(-1)!;
    expect(JSON.parse(last).event).toBe('stop');
    const half = last.slice(0, 30);
    appendFileSync(join(logs, GROWING, 'metrics.jsonl'), tail.slice(0, -1).join('') + half);
    await page.waitForFunction(
      () =>
        (window.__bmpViewer?.charts['curve-testError']?.data[1] ?? []).filter((v) => v !== null).length === 4,
      undefined,
      { timeout: 5000 },
    );
    const after = (await chart('curve-testError'))!;
    expect(after.labels).toEqual([GROWING, NEW]);
    expect(after.data[0]).toEqual([1, 2, 3, 4]);
    expect(after.data[1]).toEqual(testErrors());
    const kept = (await xRange('curve-testError'))!;
    expect(kept.min).toBeCloseTo(zoom.min!, 9);
    expect(kept.max).toBeCloseTo(zoom.max!, 9);
    expect(await page.evaluate(() => window.scrollY)).toBe(scrollY);
    expect(await page.evaluate(() => window.__bmpViewer?.renders)).toBe(renders);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('smoothing');
    // The half-written line is pending, not a problem, while the file is being written.
    expect(await page.getByTestId('problems').count()).toBe(0);
    expect(await page.getByTestId('live').textContent()).toMatch(/^live: updated \d\d:\d\d:\d\d$/);
    await page.screenshot({ path: join(artifacts, 'live-curves.png'), fullPage: true });

    // The write completes: the stop event is read, and nothing was ever reported.
    appendFileSync(join(logs, GROWING, 'metrics.jsonl'), last.slice(half.length));
    const updates = await page.evaluate(() => window.__bmpViewer?.liveUpdates ?? 0);
    await page.waitForFunction((n) => (window.__bmpViewer?.liveUpdates ?? 0) > n, updates, { timeout: 5000 });
    expect(await page.getByTestId('problems').count()).toBe(0);
    // Read whole once, then only what was appended (from the end of the last complete line).
    const headBytes = Buffer.byteLength(fixtureLines().head);
    const tailBytes = Buffer.byteLength(tail.slice(0, -1).join(''));
    expect(ranges[0]).toBe('whole');
    expect(ranges).toContain(`bytes=${headBytes}-`);
    expect(ranges.at(-1)).toBe(`bytes=${headBytes + tailBytes}-`);
    expect(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).toBe(
      true,
    );
    await page.goto(`${server.url}#/`); // same document: only the hash changes
    expect(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).toBe(
      true,
    );
    expect(await page.locator(`input[data-run="${DONE}"]`).isChecked()).toBe(false);

    // The runs page is updated in place too: the row's cells change, its tick box stays the same node.
    const epochsCell = (run: string) =>
      page.locator(`tr[data-run-row="${run}"] td:nth-child(9)`).textContent();
    expect(await epochsCell(GROWING)).toBe('4');
    await page.evaluate((n) => {
      (document.querySelector(`input[data-run="${n}"]`) as HTMLInputElement & { mark?: boolean }).mark = true;
    }, NEW);
    const rendersOnRuns = await page.evaluate(() => window.__bmpViewer?.renders);
    const lastEpoch = readFileSync(join(logs, NEW, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"epoch"'))
      .at(-1)!;
    appendFileSync(
      join(logs, NEW, 'metrics.jsonl'),
      `${JSON.stringify({ ...JSON.parse(lastEpoch), epoch: 5 })}\n`,
    );
    await page.waitForFunction(
      (n) => document.querySelector(`tr[data-run-row="${n}"] td:nth-child(9)`)?.textContent === '5',
      NEW,
      { timeout: 5000 },
    );
    expect(await page.evaluate(() => window.__bmpViewer?.renders)).toBe(rendersOnRuns);
    expect(
      await page.evaluate(
        (n) =>
          (document.querySelector(`input[data-run="${n}"]`) as HTMLInputElement & { mark?: boolean }).mark,
        NEW,
      ),
    ).toBe(true);
  });

  it('follows a log directory that does not exist yet, and reports a half-written line that stays 10 s', async () => {
    const later = join(tmp, 'later');
    const s = await startViewerServer({ logDir: later, staticDir: webDir, port: 0, pollMs: 300 });
    const p = await browser.newPage();
    try {
      await p.goto(s.url);
      await p.getByTestId('empty-state').waitFor();
      expect(await p.getByTestId('empty-state').textContent()).toContain('does not exist');
      cpSync(join(fixture, 'sgd-lr0.1-seed1'), join(later, 'cmp', 'run-1'), { recursive: true });
      await p.locator('[data-testid=run-row]').first().waitFor({ timeout: 5000 });
      expect(await p.locator('[data-testid=run-row] td:nth-child(3)').allTextContents()).toEqual([
        'cmp/run-1',
      ]);
      expect(await p.getByTestId('empty-state').count()).toBe(0);

      // A run that stopped writing mid-line without its stop event (last written 7 s ago): the line is
      // held back at first, and reported once it has stayed 10 s.
      const stuck = join(later, 'cmp', 'run-2', 'metrics.jsonl');
      mkdirSync(dirname(stuck), { recursive: true });
      writeFileSync(stuck, `${fixtureLines().head}{"type":"epoch","v":1,"ep`);
      const sevenAgo = new Date(Date.now() - 7000);
      utimesSync(stuck, sevenAgo, sevenAgo);
      await p.locator('[data-testid=run-row] >> nth=1').waitFor({ timeout: 5000 });
      expect(await p.getByTestId('problems').count()).toBe(0);
      await p.getByTestId('problems').waitFor({ timeout: 8000 });
      expect(await p.getByTestId('problems').textContent()).toMatch(
        /cmp\/run-2: metrics\.jsonl line \d+: incomplete last line/,
      );
    } finally {
      await p.close();
      await s.close();
    }
  });
});
