import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EpochRecord, readJsonl } from '../src/runlog';
import { runCli, TINY, TINY_MLP, tempDir } from './helpers';

/** A stack trace line ("    at f (file:1:2)"): user errors must not print any without --debug. */
const STACK = /\n\s+at \S/;

/** Runs the CLI as an unprivileged user when this is root (root writes into read-only directories). */
const asUser =
  process.getuid?.() === 0
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath]
    : undefined;

describe('bad input is refused before anything is created', () => {
  it.each([
    ['../../escape', 'escape'],
    ['foo/bar', 'foo'],
    ['', null],
    ['..', null],
  ])('--run-name %j is one directory name or an error (exit 2)', async (name, created) => {
    const dir = join(tempDir(), 'logs');
    const r = await runCli(['train', ...TINY_MLP, '--epochs', '1', '--log-dir', dir, '--run-name', name]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `--run-name ${JSON.stringify(name)}: a run name is one directory name under --log-dir`,
    );
    expect(r.stderr).not.toMatch(STACK);
    expect(existsSync(dir)).toBe(false);
    if (created) expect(existsSync(join(dir, '..', created))).toBe(false);
  });

  it('a read-only --log-dir is named as such, before anything is trained (exit 6)', async () => {
    const root = tempDir();
    chmodSync(root, 0o755);
    const logs = join(root, 'logs');
    mkdirSync(logs, { mode: 0o555 });
    chmodSync(logs, 0o555);
    const r = await runCli(['train', ...TINY_MLP, '--epochs', '1', '--log-dir', logs, '--run-name', 'x'], {
      command: asUser,
      env: { HOME: root },
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`--log-dir ${logs}: not writable (permission denied (EACCES))`);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).not.toContain('epoch 1/1');
    expect(readdirSync(logs)).toEqual([]);
  });

  it('errors in the data name the flag and say what to do, in one or two lines (exit 4); --debug adds the stack', async () => {
    const args = ['train', '--dataset', 'cifar10', '--data-dir', '/nope', '--log-dir', tempDir()];
    const [plain, debug, env] = await Promise.all([
      runCli(args),
      runCli([...args, '--debug']),
      runCli(args, { env: { BMP_DEBUG: '1' } }),
    ]);
    expect(plain.code).toBe(4);
    expect(plain.stderr).toBe(
      'error: --data-dir /nope: no such directory; put the cifar10 archive (or its extracted folder) there, or add --download\n',
    );
    expect(debug.code).toBe(4);
    expect(debug.stderr).toMatch(STACK);
    expect(env.stderr).toMatch(STACK);
    const empty = tempDir();
    const found = await runCli([
      'train',
      '--dataset',
      'cifar10',
      '--data-dir',
      empty,
      '--log-dir',
      tempDir(),
    ]);
    expect(found.code).toBe(4);
    expect(found.stderr).toMatch(/CIFAR-10 train data not found in .*, or add --download\.\n$/);
    expect(found.stderr).not.toContain('downloadCifar');
  });

  it('a backend that is not installed is one line naming it (exit 7)', async () => {
    const r = await runCli([
      'train',
      ...TINY_MLP.filter((a) => a !== 'wasm' && a !== '--backend'),
      '--backend',
      'node',
      '--log-dir',
      tempDir(),
    ]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/^error: @bmp\/backends: the 'node' backend is not available: .*\n$/);
  });

  it('a last batch of one image is left out (batch norm cannot normalise it), recorded in config.json', async () => {
    const dir = tempDir();
    // 41 images, batches of 40: without the rule the second batch holds one image
    const args = [...TINY, '--model', 'mlp', '--width', '8', '--synthetic-count', '41', '--epochs', '2'];
    const r = await runCli(['compare', ...args, '--log-dir', dir, '--run-name', 'c', '--jobs', '1']);
    expect(r.code, r.stderr).toBe(0);
    for (const run of ['sgd-lr0.1-seed0', 'scale-amended-lr0.02-seed0']) {
      const config = JSON.parse(readFileSync(join(dir, 'c', run, 'config.json'), 'utf8'));
      expect(config.dataset.trainSize).toBe(41);
      expect(config.dataset.droppedPerEpoch).toBe(1);
      const epochs = (await readJsonl(join(dir, 'c', run, 'metrics.jsonl'))).filter(
        (x): x is EpochRecord => x.type === 'epoch',
      );
      expect(epochs.map((e) => e.step)).toEqual([1, 2]);
      for (const e of epochs) expect(Number.isFinite(e.testLoss)).toBe(true);
    }
    expect(r.stdout).toContain('batch order identical in every epoch');
  });

  it('--model mlp has its own --width default (256 hidden units)', async () => {
    const dir = tempDir();
    const r = await runCli([
      'train',
      ...TINY,
      '--model',
      'mlp',
      '--epochs',
      '1',
      '--log-dir',
      dir,
      '--run-name',
      'm',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'm', 'config.json'), 'utf8')).model.width).toBe(256);
  });

  it('compare is the default command for flags too: bmp-train --epochs 1 ...', async () => {
    const dir = tempDir();
    const r = await runCli([
      '--epochs',
      '1',
      ...TINY_MLP,
      '--log-dir',
      dir,
      '--run-name',
      'd',
      '--jobs',
      '1',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'd', 'compare.json'))).toBe(true);
  });
});

describe('a comparison whose runs fail says which and where their logs are', () => {
  it.each([['1'], ['2']])(
    '--jobs %s: runs that never started leave nothing behind (exit 4)',
    async (jobs) => {
      const dir = tempDir();
      const r = await runCli([
        'compare',
        '--dataset',
        'cifar10',
        '--data-dir',
        '/nope',
        '--log-dir',
        dir,
        '--run-name',
        'c',
        '--jobs',
        jobs,
      ]);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/error: \d of 2 run\(s\) of the comparison in .*c failed:/);
      expect(r.stderr).toMatch(
        /sgd-lr0\.1-seed0 \(exit 4\): --data-dir \/nope: no such directory.*; logs: none/,
      );
      expect(r.stderr).not.toMatch(STACK);
      expect(existsSync(join(dir, 'c'))).toBe(false);
    },
  );

  it('compare --resume with a run that cannot be resumed: compare.json says failed, with the run and its logs (exit 5)', async () => {
    const dir = tempDir();
    const first = await runCli([
      'compare',
      ...TINY_MLP,
      '--epochs',
      '1',
      '--log-dir',
      dir,
      '--run-name',
      'c',
    ]);
    expect(first.code, first.stderr).toBe(0);
    const run = join(dir, 'c', 'sgd-lr0.1-seed0');
    writeFileSync(join(run, 'config.json'), '{"broken": ');
    const r = await runCli(['compare', '--resume', join(dir, 'c'), '--epochs', '2']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`sgd-lr0.1-seed0 (exit 5): ${join(run, 'config.json')}: not valid JSON`);
    expect(r.stderr).toContain(`; logs: ${run}`);
    expect(r.stderr).toContain(
      `fix the cause, then continue with: bmp-train compare --resume ${join(dir, 'c')}`,
    );
    const stored = JSON.parse(readFileSync(join(dir, 'c', 'compare.json'), 'utf8'));
    expect(stored.status).toBe('failed');
    expect(stored.failures.map((f: { runName: string; runDir: string }) => [f.runName, f.runDir])).toEqual([
      ['sgd-lr0.1-seed0', run],
    ]);
  });
});

describe('analyze checks its arguments before computing', () => {
  it('--out into an unwritable or missing directory fails at once (exit 6); --blocks , is refused (exit 2)', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const t = await runCli(['train', ...TINY_MLP, '--epochs', '1', '--log-dir', dir, '--run-name', 'r']);
    expect(t.code, t.stderr).toBe(0);
    const run = join(dir, 'r');
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(locked, 0o555);
    cpSync(run, join(dir, 'r2'), { recursive: true });
    chmodSync(join(dir, 'r2'), 0o777);
    const [unwritable, missing, blocks] = await Promise.all([
      runCli(['analyze', join(dir, 'r2'), '--out', join(locked, 'a.json')], { command: asUser }),
      runCli(['analyze', run, '--out', join(dir, 'no', 'such', 'a.json')]),
      runCli(['analyze', run, '--blocks', ',']),
    ]);
    expect(unwritable.code).toBe(6);
    expect(unwritable.stderr).toContain(`--out ${locked}: not writable (permission denied (EACCES))`);
    expect(unwritable.stdout).not.toMatch(/\[1\//); // no block was analysed
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain(`the directory ${join(dir, 'no', 'such')} does not exist`);
    expect(blocks.code).toBe(2);
    expect(blocks.stderr).toContain("option '--blocks <names>' argument ',' is invalid");
  });
});
