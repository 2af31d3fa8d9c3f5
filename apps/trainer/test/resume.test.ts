import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EpochRecord, readJsonl } from '../src/runlog';
import { runCli, TINY, tempDir } from './helpers';

// A tiny paper VGG (conv blocks, BN statistics), scale-amended SGD (momentum units), a plateau schedule,
// augmentation, a validation split: every piece of state a checkpoint must carry.
const RUN = [
  ...TINY,
  '--image-shape',
  '8x8x3',
  '--model',
  'vgg11',
  '--width',
  '0.0625',
  '--optimizer',
  'scale-amended',
  '--lr',
  '0.01',
  '--schedule',
  'plateau',
  '--plateau-patience',
  '0',
  '--plateau-factor',
  '0.5',
  '--augment',
  'flip,crop',
  '--crop-padding',
  '1',
  '--val-split',
  '40',
  '--log-every-steps',
  '3',
];

const VOLATILE = new Set(['wallTime', 'imagesPerSecond', 'epochSeconds', 'run']);

function stable(records: Array<{ type: string }>): unknown[] {
  return records
    .filter((r) => r.type !== 'event')
    .map((r) => Object.fromEntries(Object.entries(r as object).filter(([k]) => !VOLATILE.has(k))));
}

async function finalState(runDir: string) {
  const latest = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'latest.json'), 'utf8'));
  const ckpt = join(runDir, 'checkpoints', latest.checkpoint);
  const state = JSON.parse(readFileSync(join(ckpt, 'state.json'), 'utf8'));
  return {
    latest,
    model: readFileSync(join(ckpt, 'model.safetensors')),
    optimizer: readFileSync(join(ckpt, 'optimizer.safetensors')),
    schedule: state.schedule,
    learningRate: state.learningRate,
    metrics: stable(await readJsonl(join(runDir, 'metrics.jsonl'))),
  };
}

describe('--resume gives the result of an uninterrupted run', () => {
  it('after --epochs 1, --resume --epochs 3 equals a 3-epoch run (weights, optimizer, schedule, metrics)', async () => {
    const dir = tempDir();
    const [full, part] = await Promise.all([
      runCli(['train', ...RUN, '--epochs', '3', '--log-dir', dir, '--run-name', 'full']),
      runCli(['train', ...RUN, '--epochs', '1', '--log-dir', dir, '--run-name', 'part']),
    ]);
    expect(full.code, full.stderr).toBe(0);
    expect(part.code, part.stderr).toBe(0);
    const resumed = await runCli(['train', '--resume', join(dir, 'part'), '--epochs', '3']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming at epoch 2/3');
    const a = await finalState(join(dir, 'full'));
    const b = await finalState(join(dir, 'part'));
    expect(b.latest).toEqual(a.latest);
    expect(Buffer.compare(a.model, b.model)).toBe(0);
    expect(Buffer.compare(a.optimizer, b.optimizer)).toBe(0);
    expect(b.schedule).toEqual(a.schedule);
    expect(b.metrics).toEqual(a.metrics);
    const epochs = (a.metrics as EpochRecord[]).filter((r) => r.type === 'epoch');
    expect(epochs).toHaveLength(3);
    expect(epochs[0].valAccuracy).toBeTypeOf('number');
    const config = JSON.parse(readFileSync(join(dir, 'part', 'config.json'), 'utf8'));
    expect(config.resumes).toHaveLength(1);
    const events = (await readJsonl(join(dir, 'part', 'metrics.jsonl'))).filter((r) => r.type === 'event');
    expect(events.map((e) => (e as { event: string }).event)).toEqual(['start', 'stop', 'resume', 'stop']);
    expect(config.settings.epochs).toBe(3);
  });

  it('Ctrl-C in the middle of an epoch saves a checkpoint; --resume finishes with identical weights', async () => {
    const dir = tempDir();
    // an MLP with many small steps, so that the interrupt lands inside the first epoch
    const args = [
      ...TINY,
      '--model',
      'mlp',
      '--width',
      '32',
      '--optimizer',
      'scale-amended',
      '--lr',
      '0.02',
      '--augment',
      'flip',
      '--synthetic-count',
      '4000',
      '--epochs',
      '2',
      '--log-dir',
      dir,
    ];
    const full = runCli(['train', ...args, '--run-name', 'full']);
    const interrupted = await runCli(['train', ...args, '--run-name', 'cut', '--json'], {
      onLine: (line) => {
        const e = JSON.parse(line);
        return e.type === 'step' && e.epoch === 0 && e.batch === 4 ? 'SIGINT' : undefined;
      },
    });
    expect(interrupted.code).toBe(130);
    const end = interrupted.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((e) => e.type === 'end');
    expect(end.status).toBe('interrupted');
    const latest = JSON.parse(readFileSync(join(dir, 'cut', 'checkpoints', 'latest.json'), 'utf8'));
    expect(latest.epoch).toBe(0);
    expect(latest.batch).toBeGreaterThanOrEqual(5);
    expect(latest.batch).toBeLessThan(100);
    const resumed = await runCli(['train', '--resume', join(dir, 'cut')]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await full).code).toBe(0);
    const a = await finalState(join(dir, 'full'));
    const b = await finalState(join(dir, 'cut'));
    expect(Buffer.compare(a.model, b.model)).toBe(0);
    expect(Buffer.compare(a.optimizer, b.optimizer)).toBe(0);
    expect(b.metrics).toEqual(a.metrics);
    const events = (await readJsonl(join(dir, 'cut', 'metrics.jsonl'))).filter((r) => r.type === 'event');
    expect(events.map((e) => (e as { event: string }).event)).toEqual([
      'start',
      'interrupt',
      'resume',
      'stop',
    ]);
  });

  it('refuses to change the settings that define a run, naming them', async () => {
    const dir = tempDir();
    const r = await runCli([
      'train',
      ...TINY,
      '--model',
      'mlp',
      '--width',
      '8',
      '--epochs',
      '1',
      '--log-dir',
      dir,
      '--run-name',
      'x',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const bad = await runCli(['train', '--resume', join(dir, 'x'), '--lr', '0.5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot change 'lr'/);
    const again = await runCli([
      'train',
      ...TINY,
      '--model',
      'mlp',
      '--width',
      '8',
      '--epochs',
      '1',
      '--log-dir',
      dir,
      '--run-name',
      'x',
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a run.*--resume/);
    expect(readdirSync(join(dir, 'x', 'checkpoints')).filter((n) => n.startsWith('epoch-'))).toHaveLength(1);
  });
});
