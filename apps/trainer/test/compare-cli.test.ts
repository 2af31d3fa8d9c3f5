import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EpochRecord, MetricsRecord } from '../src/runlog';
import { readJsonl, readRunConfig } from '../src/runlog';
import { runCli, TINY, tempDir } from './helpers';

describe('bmp-train compare through the real CLI (tiny synthetic data)', () => {
  const dir = tempDir();
  let result: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    result = await runCli(
      [
        'compare',
        ...TINY,
        '--model',
        'vgg11',
        '--width',
        '0.0625',
        '--image-shape',
        '8x8x3',
        '--epochs',
        '2',
        '--lr-sgd',
        '0.05',
        '--lr-scale-amended',
        '0.01',
        '--run-name',
        'cmp',
        '--log-every-steps',
        '2',
      ],
      { cwd: dir },
    );
  }, 120_000);

  it('exits 0 and prints the table, the hash checks and where the logs are', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/optimizer\s+lr\s+seeds\s+final test error\s+best test error\s+s \/ epoch/);
    expect(result.stdout).toMatch(/^sgd\s+0\.05\s+1\s+\d+\.\d\d%/m);
    expect(result.stdout).toMatch(/^scale-amended\s+0\.01\s+1\s+\d+\.\d\d%/m);
    expect(result.stdout).toContain('initial weights identical across runs');
    expect(result.stdout).toContain('batch order identical in every epoch');
    expect(result.stdout).toContain(`logs: ${join(dir, 'runs', 'cmp')}`);
  });

  it('writes every log file of both runs under runs/ in the starting directory, readable back', async () => {
    const root = join(dir, 'runs', 'cmp');
    const summary = JSON.parse(readFileSync(join(root, 'compare.json'), 'utf8'));
    expect(summary.status).toBe('completed');
    expect(summary.checks[0]).toMatchObject({ seed: 0, initWeightsMatch: true, orderHashesMatch: true });
    const configs = ['sgd-lr0.05-seed0', 'scale-amended-lr0.01-seed0'].map((r) =>
      JSON.parse(readFileSync(join(root, r, 'config.json'), 'utf8')),
    );
    expect(configs[0].initWeightsHash).toMatch(/^[0-9a-f]{8}$/);
    // same initial weights, same batches: the pair agrees on the hashes
    expect(configs[0].initWeightsHash).toBe(configs[1].initWeightsHash);
    expect(configs.map((c) => c.compareId)).toEqual(['cmp', 'cmp']);
    expect(configs[1].settings).toMatchObject({ optimizer: 'scale-amended', lr: 0.01, seed: 0, epochs: 2 });
    expect(configs[0].environment.tfjsCore).toBe('4.22.0');
    // valid against the shared schema of @bmp/runlog
    const checked = await readRunConfig(join(root, 'scale-amended-lr0.01-seed0', 'config.json'));
    expect(checked.model.blocks).toHaveLength(9);
    expect(checked.versions['@tensorflow/tfjs-core']).toBe('4.22.0');
    const records: MetricsRecord[][] = [];
    for (const r of ['sgd-lr0.05-seed0', 'scale-amended-lr0.01-seed0']) {
      const runDir = join(root, r);
      expect(readdirSync(runDir).some((f) => f.startsWith('events.out.tfevents.'))).toBe(true);
      expect(existsSync(join(runDir, 'checkpoints', 'latest.json'))).toBe(true);
      records.push(await readJsonl(join(runDir, 'metrics.jsonl')));
    }
    const epochs = records.map((rs) => rs.filter((x): x is EpochRecord => x.type === 'epoch'));
    expect(epochs.map((e) => e.length)).toEqual([2, 2]);
    expect(epochs[0].map((e) => e.orderHash)).toEqual(epochs[1].map((e) => e.orderHash));
    expect(epochs[0][0].orderHash).not.toBe(epochs[0][1].orderHash);
    const e = epochs[1][1];
    for (const k of [
      'epoch',
      'step',
      'optimizer',
      'seed',
      'compareId',
      'trainLoss',
      'trainAccuracy',
      'testLoss',
      'testError',
      'lr',
      'imagesPerSecond',
      'wallTime',
    ]) {
      expect(e).toHaveProperty(k);
    }
    expect(e.scales?.map((s) => s.name)).toEqual([
      ...Array.from({ length: 8 }, (_, i) => `conv${i + 1}/kernel`),
      'fc/kernel',
    ]);
    expect(epochs[0][1].scales).toBeUndefined();
    const steps = records[0].filter((x) => x.type === 'step');
    expect(steps.length).toBe(6); // 12 steps, every 2
    expect(steps[0]).toMatchObject({ type: 'step', step: 2, lr: 0.05 });
  });
});
