import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EpochRecord, readJsonl } from '../src/runlog';
import { runCli, TINY_MLP, tempDir } from './helpers';

// No schedule: a resumed run must equal an uninterrupted one bit for bit.
const RUN = [...TINY_MLP, '--schedule', 'none', '--optimizer', 'scale-amended', '--lr', '0.02'];

const ckpts = (runDir: string) =>
  readdirSync(join(runDir, 'checkpoints'))
    .filter((n) => n.startsWith('epoch-'))
    .sort();

function finalModel(runDir: string): Buffer {
  return readFileSync(join(runDir, 'checkpoints', ckpts(runDir).at(-1)!, 'model.safetensors'));
}

async function epochRecords(runDir: string): Promise<EpochRecord[]> {
  return (await readJsonl(join(runDir, 'metrics.jsonl'))).filter((r): r is EpochRecord => r.type === 'epoch');
}

async function events(runDir: string): Promise<string[]> {
  return (await readJsonl(join(runDir, 'metrics.jsonl')))
    .filter((r) => r.type === 'event')
    .map((r) => (r as { event: string }).event);
}

/** Trains `name` for `epochs` epochs (plus extra flags) and expects success. */
async function trained(dir: string, name: string, epochs: number, extra: string[] = []): Promise<string> {
  const r = await runCli([
    'train',
    ...RUN,
    '--epochs',
    String(epochs),
    '--log-dir',
    dir,
    '--run-name',
    name,
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return join(dir, name);
}

describe('--resume finds its way back whatever state the run was left in', () => {
  it('without latest.json (killed before it was written), with a leftover temporary directory: same bits', async () => {
    const dir = tempDir();
    const [full, cut] = await Promise.all([trained(dir, 'full', 2), trained(dir, 'cut', 1)]);
    rmSync(join(cut, 'checkpoints', 'latest.json'));
    const tmp = join(cut, 'checkpoints', '.tmp-epoch-0002-batch-000000-deadbeef');
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'model.safetensors'), 'half written');
    const r = await runCli(['train', '--resume', cut, '--epochs', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('resuming at epoch 2/2');
    expect(r.stdout).toContain(`removed ${tmp}`);
    expect(existsSync(tmp)).toBe(false);
    expect(Buffer.compare(finalModel(full), finalModel(cut))).toBe(0);
  });

  it('config.json and no checkpoint: trains from the start, to the bits of an uninterrupted run', async () => {
    const dir = tempDir();
    const [full, cut] = await Promise.all([trained(dir, 'full', 2), trained(dir, 'cut', 2)]);
    rmSync(join(cut, 'checkpoints'), { recursive: true });
    const r = await runCli(['train', '--resume', cut]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no checkpoint in .*cut: training it again from the start/);
    expect(Buffer.compare(finalModel(full), finalModel(cut))).toBe(0);
    const strip = (rs: EpochRecord[]) => rs.map((e) => [e.epoch, e.step, e.trainLoss, e.testLoss]);
    expect(strip(await epochRecords(cut))).toEqual(strip(await epochRecords(full)));
    expect(await events(cut)).toEqual(['start', 'stop', 'resume', 'stop']);
    const config = JSON.parse(readFileSync(join(cut, 'config.json'), 'utf8'));
    expect(config.resumes[0].fromStart).toBe(true);
  });

  it('a corrupt newest checkpoint: falls back to the older one, warning with both names; same bits', async () => {
    const dir = tempDir();
    const [full, cut] = await Promise.all([trained(dir, 'full', 3), trained(dir, 'cut', 2)]);
    expect(ckpts(cut)).toEqual(['epoch-0001-batch-000000', 'epoch-0002-batch-000000']);
    const newest = join(cut, 'checkpoints', 'epoch-0002-batch-000000');
    const model = readFileSync(join(newest, 'model.safetensors'));
    model[model.length - 3] ^= 0xff; // one weight's bits: the CRC no longer matches
    writeFileSync(join(newest, 'model.safetensors'), model);
    const r = await runCli(['train', '--resume', cut, '--epochs', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/checkpoint .*epoch-0002-batch-000000 is unusable \(.*(CRC|crc).*\); moved to /);
    expect(r.stdout).toContain(
      `resuming from the older checkpoint ${join(cut, 'checkpoints', 'epoch-0001-batch-000000')} instead of ${newest}`,
    );
    expect(r.stdout).toContain('resuming at epoch 2/3');
    expect(Buffer.compare(finalModel(full), finalModel(cut))).toBe(0);
    expect(readdirSync(join(cut, 'checkpoints')).some((n) => n.startsWith('.unusable-epoch-0002'))).toBe(
      true,
    );
  });

  it('latest.json broken or pointing outside the run: ignored with a warning naming it', async () => {
    const dir = tempDir();
    const [a, b] = await Promise.all([trained(dir, 'a', 1), trained(dir, 'b', 1)]);
    writeFileSync(join(a, 'checkpoints', 'latest.json'), '{"checkpoint": "epoch-00');
    writeFileSync(join(b, 'checkpoints', 'latest.json'), JSON.stringify({ checkpoint: '../../../a' }));
    const [ra, rb] = await Promise.all([
      runCli(['train', '--resume', a, '--epochs', '2']),
      runCli(['train', '--resume', b, '--epochs', '2']),
    ]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(ra.stdout).toContain(`${join(a, 'checkpoints', 'latest.json')}: ignored`);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toMatch(/latest\.json: ignored: "\.\.\/\.\.\/\.\.\/a" is not a checkpoint of this run/);
    expect(JSON.parse(readFileSync(join(b, 'checkpoints', 'latest.json'), 'utf8')).checkpoint).toBe(
      'epoch-0002-batch-000000',
    );
  });

  it('a broken state.json and a metricsBytes beyond metrics.jsonl are refused, naming the files (exit 5)', async () => {
    const dir = tempDir();
    const [a, b] = await Promise.all([trained(dir, 'a', 1), trained(dir, 'b', 1)]);
    const state = join(a, 'checkpoints', 'epoch-0001-batch-000000', 'state.json');
    writeFileSync(state, readFileSync(state, 'utf8').slice(0, 40));
    truncateSync(join(b, 'metrics.jsonl'), 10);
    const [ra, rb] = await Promise.all([
      runCli(['train', '--resume', a, '--epochs', '2']),
      runCli(['train', '--resume', b, '--epochs', '2']),
    ]);
    expect(ra.code).toBe(5);
    expect(ra.stderr).toContain(`${state}: not valid JSON`);
    expect(ra.stderr).not.toMatch(/SyntaxError|\n\s+at /);
    expect(rb.code).toBe(5);
    expect(rb.stderr).toMatch(
      /metrics\.jsonl has 10 bytes, fewer than the \d+ it had when .*epoch-0001-batch-000000 was taken/,
    );
  });
});

describe('--epochs and --preset on resume', () => {
  it('a cosine schedule is re-planned to the new last epoch: never 0 before the end, never climbing', async () => {
    const dir = tempDir();
    const run = await trained(dir, 'cos', 2, ['--schedule', 'cosine']);
    const r = await runCli(['train', '--resume', run, '--epochs', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /schedule: cosine re-planned for --epochs 4 \(it ended after epoch 2\): lr 0\.0075 in epoch 3, falling to 0 after epoch 4/,
    );
    const lrs = (await epochRecords(run)).map((e) => e.lr);
    // epochs 1-2: 0.02 * (1 + cos(pi t / 2)) / 2; epochs 3-4 from epoch 2's 0.01: 0.01 * (1 + cos(pi k / 3)) / 2
    const expected = [0.02, 0.01, 0.01 * 0.75, 0.01 * 0.25];
    expect(lrs).toHaveLength(4);
    for (const [i, lr] of lrs.entries()) expect(lr).toBeCloseTo(expected[i], 12);
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(config.schedule).toMatchObject({
      name: 'cosine',
      tMax: 3,
      replanned: { fromEpoch: 2, fromLr: 0.01, toEpoch: 4, previousEnd: 2 },
    });
    expect(config.settings.epochs).toBe(4);
    expect(config.resumes.at(-1).schedule.replanned.toEpoch).toBe(4);
  });

  it('fewer epochs than done, a finished run, and --preset are refused with what to pass (exit 2)', async () => {
    const dir = tempDir();
    const run = await trained(dir, 'x', 2);
    const before = readFileSync(join(run, 'config.json'), 'utf8');
    const [fewer, same, preset] = await Promise.all([
      runCli(['train', '--resume', run, '--epochs', '1']),
      runCli(['train', '--resume', run]),
      runCli(['train', '--resume', run, '--preset', 'paper-cifar10', '--epochs', '3']),
    ]);
    expect(fewer.code).toBe(2);
    expect(fewer.stderr).toContain('--epochs 1: the run in');
    expect(fewer.stderr).toContain('has already trained 2 epoch(s); --epochs must be at least 3');
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('the run has finished its 2 epoch(s); pass a larger --epochs');
    expect(preset.code).toBe(2);
    expect(preset.stderr).toMatch(/--preset paper-cifar10 with --resume: .*leave --preset out/);
    expect(readFileSync(join(run, 'config.json'), 'utf8')).toBe(before);
  });
});

describe('SIGTERM (schedulers, Docker, Kubernetes) stops a run like Ctrl-C', () => {
  it('checkpoint at the next step, an interrupt event, exit 143; --resume gives the same bits', async () => {
    const dir = tempDir();
    const args = [...RUN, '--synthetic-count', '4000', '--epochs', '2', '--log-dir', dir];
    const full = runCli(['train', ...args, '--run-name', 'full']);
    const cut = await runCli(['train', ...args, '--run-name', 'cut', '--json'], {
      onLine: (line) => {
        const e = JSON.parse(line);
        return e.type === 'step' && e.epoch === 0 && e.batch === 4 ? 'SIGTERM' : undefined;
      },
    });
    expect(cut.signal).toBeNull();
    expect(cut.code).toBe(143);
    const latest = JSON.parse(readFileSync(join(dir, 'cut', 'checkpoints', 'latest.json'), 'utf8'));
    expect(latest.epoch).toBe(0);
    expect(latest.batch).toBeGreaterThanOrEqual(5);
    expect(await events(join(dir, 'cut'))).toEqual(['start', 'interrupt']);
    const resumed = await runCli(['train', '--resume', join(dir, 'cut')]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await full).code).toBe(0);
    expect(Buffer.compare(finalModel(join(dir, 'full')), finalModel(join(dir, 'cut')))).toBe(0);
  });
});
