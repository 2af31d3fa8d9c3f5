// bmp-train on webgpu (Dawn in Node; llvmpipe on CI): the same run as on the cpu backend within float32
// tolerance, the device recorded, resume and compare on it, one job per GPU. Skips without an adapter
// unless BMP_REQUIRE_WEBGPU=1 (CI), which makes that a failure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@bmp/backends';
import { webgpuOrSkip } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultJobs, resumedBackend } from '../src/commands/default-jobs';
import { runCli, tempDir } from './helpers';

// A small paper VGG (BN, ReLU, max-pool) on synthetic images: 4 steps an epoch.
const RUN = [
  'train',
  '--dataset',
  'synthetic',
  '--synthetic-count',
  '64',
  '--image-shape',
  '16x16x3',
  '--width',
  '0.125',
  '--batch-size',
  '16',
  '--seed',
  '3',
  '--log-every-steps',
  '1',
];

type Step = { type: 'step'; step: number; loss: number };
type Epoch = { type: 'epoch'; trainLoss: number; testLoss: number };

function records(runDir: string): { steps: Step[]; epochs: Epoch[] } {
  const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  const all = lines.map((l) => JSON.parse(l));
  return { steps: all.filter((r) => r.type === 'step'), epochs: all.filter((r) => r.type === 'epoch') };
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

let available = false;
beforeAll(async () => {
  available = await webgpuOrSkip(() => initBackend({ prefer: 'webgpu' }), 'bmp-train webgpu tests');
});

describe('bmp-train --backend webgpu', () => {
  it('trains the run the cpu backend trains: every step loss within 1e-3, the device in config.json', async () => {
    if (!available) return;
    const dir = tempDir();
    const runs = await Promise.all(
      ['cpu', 'webgpu'].map((backend) =>
        runCli([...RUN, '--epochs', '2', '--backend', backend, '--run-name', backend, '--log-dir', dir]),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(runs[1].stdout).toMatch(/backend webgpu on .*(software: WebGPU emulated on the CPU|\))/);
    const cpu = records(join(dir, 'cpu'));
    const gpu = records(join(dir, 'webgpu'));
    expect(gpu.steps).toHaveLength(8);
    // float32 on both, with different reduction orders: the first step's loss agrees to ~1e-7 and eight
    // steps of training amplify that to ~1e-5 here; 1e-3 leaves room for other GPUs while a wrong kernel
    // (a gradient off by a term) moves the losses by far more after one step.
    for (const [i, s] of gpu.steps.entries()) expect(relative(s.loss, cpu.steps[i].loss)).toBeLessThan(1e-3);
    for (const [i, e] of gpu.epochs.entries()) {
      expect(relative(e.trainLoss, cpu.epochs[i].trainLoss)).toBeLessThan(1e-3);
      expect(relative(e.testLoss, cpu.epochs[i].testLoss)).toBeLessThan(1e-3);
    }
    const config = JSON.parse(readFileSync(join(dir, 'webgpu', 'config.json'), 'utf8'));
    expect(config.backend).toBe('webgpu');
    expect(['gpu', 'software-gpu']).toContain(config.device.kind);
    expect(config.device.adapter).toMatchObject({
      vendor: expect.any(String),
      software: expect.any(Boolean),
    });
    const cpuConfig = JSON.parse(readFileSync(join(dir, 'cpu', 'config.json'), 'utf8'));
    expect(cpuConfig.device).toEqual({ kind: 'cpu', label: 'CPU (tfjs cpu backend)' });

    // Checkpoints written from the GPU resume there: a third epoch, the resume recorded with its device.
    const more = await runCli(['train', '--resume', join(dir, 'webgpu'), '--epochs', '3']);
    expect(more.code, more.stderr).toBe(0);
    expect(records(join(dir, 'webgpu')).epochs).toHaveLength(3);
    const resumed = JSON.parse(readFileSync(join(dir, 'webgpu', 'config.json'), 'utf8'));
    expect(resumed.resumes.at(-1)).toMatchObject({ backend: 'webgpu', device: { kind: config.device.kind } });
  });

  it('compare on webgpu runs one job at a time by default (one per GPU), both runs complete', async () => {
    if (!available) return;
    expect(await defaultJobs('webgpu', 4)).toBe(1);
    expect(await defaultJobs('node-gpu', 4)).toBe(1);
    const dir = tempDir();
    const r = await runCli([
      'compare',
      ...RUN.slice(1),
      '--epochs',
      '1',
      '--backend',
      'webgpu',
      '--run-name',
      'c',
      '--log-dir',
      dir,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const done = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .at(-1);
    expect(done).toMatchObject({ type: 'compare', status: 'completed' });
    for (const run of ['sgd-lr0.1-seed3', 'scale-amended-lr0.02-seed3']) {
      expect(JSON.parse(readFileSync(join(dir, 'c', run, 'config.json'), 'utf8')).backend).toBe('webgpu');
    }
    // compare --resume keeps one job at a time: the stored comparison's backend decides, unless overridden.
    expect(await resumedBackend(join(dir, 'c'), undefined)).toBe('webgpu');
    expect(await resumedBackend(join(dir, 'c'), 'wasm')).toBe('wasm');
  });
});

describe('default jobs of compare', () => {
  it('CPU backends: two processes on 2+ cores (one for a single run); auto here is a CPU one', async () => {
    const { availableParallelism } = await import('node:os');
    const cpu = Math.min(2, availableParallelism());
    expect(await defaultJobs('wasm', 4)).toBe(cpu);
    expect(await defaultJobs('wasm', 1)).toBe(1);
    // No GPU device on a CI machine: auto picks a CPU backend, so runs go two at a time.
    const auto = await defaultJobs('auto', 4);
    expect([1, cpu]).toContain(auto);
  });
});

describe('bmp-train --backend node-gpu without tfjs-node-gpu', () => {
  it('is one line naming it (exit 7): a CPU run is never labelled GPU', async () => {
    const r = await runCli([...RUN, '--epochs', '1', '--backend', 'node-gpu', '--log-dir', tempDir()]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/^error: @bmp\/backends: the 'node-gpu' backend is not available: .*\n$/);
  });
});
