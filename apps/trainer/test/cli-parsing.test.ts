import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { TrainSettings } from '../src/config';
import { buildProgram } from '../src/program';

interface Parsed {
  command: string;
  opts: Record<string, unknown>;
  explicit: Partial<TrainSettings>;
}

async function parse(
  args: string[],
): Promise<{ parsed?: Parsed; out: string; err: string; code?: string; exitCode?: number }> {
  let parsed: Parsed | undefined;
  let out = '';
  let err = '';
  const program = buildProgram({
    train: (_c: Command, opts, explicit) => {
      parsed = { command: 'train', opts, explicit };
    },
    compare: (_c: Command, opts, explicit) => {
      parsed = { command: 'compare', opts, explicit };
    },
    writeOut: (s) => {
      out += s;
    },
    writeErr: (s) => {
      err += s;
    },
  });
  try {
    await program.parseAsync(['node', 'bmp-train', ...args]);
    return { parsed, out, err };
  } catch (e) {
    const x = e as { code?: string; exitCode?: number };
    return { parsed, out, err, code: x.code, exitCode: x.exitCode };
  }
}

describe('bmp-train argument parsing', () => {
  it('parses the flags of train into settings, only those given', async () => {
    const r = await parse([
      'train',
      '--model',
      'vgg13',
      '--width',
      '0.5',
      '--dataset',
      'cifar10',
      '--data-dir',
      '/data',
      '--optimizer',
      'sgd',
      '--lr',
      '0.05',
      '--momentum',
      '0.8',
      '--weight-decay',
      '0.005',
      '--nesterov',
      '--epochs',
      '3',
      '--batch-size',
      '32',
      '--seed',
      '7',
      '--schedule',
      'plateau',
      '--plateau-patience',
      '4',
      '--augment',
      'flip,rotate,crop',
      '--max-train-samples',
      '1000',
      '--val-split',
      '100',
      '--backend',
      'cpu',
      '--log-dir',
      'out',
      '--run-name',
      'r1',
      '--checkpoint-every',
      '2',
    ]);
    expect(r.err).toBe('');
    expect(r.parsed?.command).toBe('train');
    expect(r.parsed?.explicit).toEqual({
      model: 'vgg13',
      width: 0.5,
      dataset: 'cifar10',
      dataDir: '/data',
      optimizer: 'sgd',
      lr: 0.05,
      momentum: 0.8,
      weightDecay: 0.005,
      nesterov: true,
      epochs: 3,
      batchSize: 32,
      seed: 7,
      schedule: 'plateau',
      plateauPatience: 4,
      augment: ['flip', 'rotate', 'crop'],
      maxTrainSamples: 1000,
      valSplit: 100,
      backend: 'cpu',
      logDir: 'out',
      runName: 'r1',
      checkpointEvery: 2,
    });
  });

  it('parses compare learning-rate lists and seeds', async () => {
    const r = await parse([
      'compare',
      '--lr-sgd',
      '0.1,0.05',
      '--lr-scale-amended',
      '0.02',
      '--seeds',
      '3',
      '--jobs',
      '1',
    ]);
    expect(r.parsed?.opts.lrSgd).toEqual([0.1, 0.05]);
    expect(r.parsed?.opts.lrScaleAmended).toEqual([0.02]);
    expect(r.parsed?.opts.seeds).toEqual([0, 1, 2]);
    const r2 = await parse(['compare', '--seeds', '4,9']);
    expect(r2.parsed?.opts.seeds).toEqual([4, 9]);
  });

  it.each([
    [['train', '--bogus'], /unknown option '--bogus'/],
    [['compare', '--lr', '0.1'], /unknown option '--lr'/],
    [['train', '--model', 'resnet'], /'--model <id>' argument 'resnet' is invalid.*vgg11/s],
    [['train', '--lr', 'fast'], /'--lr <lr>' argument 'fast' is invalid\. expected a number > 0/],
    [['train', '--epochs', '1.5'], /'--epochs <n>' argument '1.5' is invalid\. expected an integer >= 1/],
    [['train', '--momentum', '1'], /'--momentum <m>'.*expected a number in \[0, 1\)/],
    [['train', '--augment', 'flip,blur'], /unknown augmentation 'blur'/],
    [['compare', '--lr-sgd', '0.1,,0.2'], /'--lr-sgd <lrs>'.*comma-separated list/],
    [['compare', '--seeds', 'a,b'], /'--seeds <n\|list>'/],
    [['train', '--optimizer', 'adam'], /'--optimizer <id>' argument 'adam' is invalid/],
    [['train', '--preset', 'paper-imagenet'], /'--preset <name>' argument 'paper-imagenet' is invalid/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['train', 'extra'], /too many arguments/],
  ])('rejects %j with a message naming it', async (args, message) => {
    const r = await parse(args as string[]);
    expect(r.parsed).toBeUndefined();
    expect(r.err).toMatch(message as RegExp);
    expect(r.exitCode).not.toBe(0);
  });

  it.each([['train'], ['compare'], ['presets']])('%s --help lists its flags and exits 0', async (cmd) => {
    const r = await parse([cmd, '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.out).toContain(`Usage: bmp-train ${cmd}`);
    if (cmd !== 'presets') expect(r.out).toContain('--val-split');
    if (cmd === 'compare') expect(r.out).toContain('--lr-scale-amended');
  });

  it('documents the assumed values of the presets in --help', async () => {
    const r = await parse(['train', '--help']);
    expect(r.out).toContain('paper-cifar10');
    expect(r.out).toMatch(/assumed batchSize: 128/);
  });
});
