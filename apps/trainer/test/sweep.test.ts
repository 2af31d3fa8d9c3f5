import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '../src/runlog';
import { parseSweepSpec, readSweepFile } from '../src/sweep-file';
import { expandGrid, planSweep, type SweepPlan } from '../src/sweep-plan';
import { runCli, TINY_MLP, TINY_SWEEP_BASE, tempDir } from './helpers';

/** Everything of the epoch records but timings and the comparison/sweep id. */
function epochs(runDir: string) {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EpochRecord)
    .filter((r) => r.type === 'epoch')
    .map(({ wallTime: _w, epochSeconds: _s, imagesPerSecond: _i, compareId: _c, ...r }) => r);
}

const readPlan = (dir: string): SweepPlan => JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));

// TINY_MLP as a sweep file's base (flag spellings, as the file accepts them)
const BASE = { ...TINY_SWEEP_BASE };
const RUNS = [
  'optimizer-sgd_seed-0',
  'optimizer-sgd_seed-1',
  'optimizer-scale-amended_seed-0',
  'optimizer-scale-amended_seed-1',
];

describe('sweep file and plan', () => {
  it('expands the grid in file order, per-optimizer sub-grids included, and names runs by the keys that vary', () => {
    const spec = parseSweepSpec(
      {
        name: 'fmnist',
        base: { epochs: 3, 'weight-decay': 0.001 },
        grid: {
          optimizer: { sgd: { lr: [0.1, 0.05] }, 'scale-amended': { lr: [0.02] } },
          seed: [0, 1],
          augment: [[], ['flip', 'crop']],
        },
      },
      'mem.yaml',
    );
    expect(expandGrid(spec.grid)).toHaveLength(12);
    const plan = planSweep(spec, { logDir: tempDir() });
    expect(plan.keys).toEqual(['optimizer', 'lr', 'seed', 'augment']);
    expect(plan.runs.slice(0, 4).map((r) => r.runName)).toEqual([
      'optimizer-sgd_lr-0.1_seed-0_augment-none',
      'optimizer-sgd_lr-0.1_seed-0_augment-flip+crop',
      'optimizer-sgd_lr-0.1_seed-1_augment-none',
      'optimizer-sgd_lr-0.1_seed-1_augment-flip+crop',
    ]);
    expect(plan.runs[11].runName).toBe('optimizer-scale-amended_lr-0.02_seed-1_augment-flip+crop');
    const r = plan.runs[11];
    expect(r.group).toBe('optimizer-scale-amended_lr-0.02_augment-flip+crop');
    expect(r.settings).toMatchObject({
      optimizer: 'scale-amended',
      lr: 0.02,
      seed: 1,
      augment: ['flip', 'crop'],
      epochs: 3,
      weightDecay: 0.001,
      runName: r.runName,
      logDir: plan.dir,
    });
    expect(plan.dir.endsWith('/fmnist')).toBe(true);
    // a key with one value does not vary: not in the names; the optimizer's own default lr applies
    const p2 = planSweep(parseSweepSpec({ grid: { optimizer: ['sgd', 'scale-amended'], epochs: [2] } }, 'x'));
    expect(p2.runs.map((x) => [x.runName, x.settings.lr, x.settings.epochs])).toEqual([
      ['optimizer-sgd', 0.1, 2],
      ['optimizer-scale-amended', 0.02, 2],
    ]);
  });

  it("the README's example file plans its 18 runs", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const yaml = /## Sweeps[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(yaml).toBeDefined();
    const dir = tempDir();
    writeFileSync(join(dir, 'readme.yaml'), yaml!);
    const plan = planSweep(readSweepFile(join(dir, 'readme.yaml')), { logDir: dir });
    expect(plan.runs).toHaveLength(18);
    expect(plan.dir).toBe(join(dir, 'fmnist-vgg11'));
    expect(plan.runs.map((r) => r.runName)).toContain('optimizer-sgd_lr-0.1_seed-2_augment-flip+crop');
    expect(new Set(plan.runs.map((r) => r.group)).size).toBe(6);
  });

  it('rejects unknown keys and bad values, naming the file, the key and what is allowed (JSON and YAML)', () => {
    const dir = tempDir();
    const cases: Array<[string, string, RegExp]> = [
      [
        'bad.json',
        JSON.stringify({ base: { epochz: 3 }, grid: { seed: [0] } }),
        /bad\.json: base\.epochz: unknown key 'epochz'; allowed: .*weight-decay/,
      ],
      [
        'bad.yaml',
        'grid:\n  optimizer: [sgd, adam]\n',
        /bad\.yaml: grid\.optimizer\[1\]: "adam" is not allowed; allowed: sgd, scale-amended/,
      ],
      ['lr.yml', 'grid:\n  lr: [0.1, -1]\n', /lr\.yml: grid\.lr\[1\]: expected a number > 0, got -1/],
      [
        'aug.yaml',
        'base: { augment: [flip, blur] }\ngrid: { seed: [0] }\n',
        /aug\.yaml: base\.augment: unknown augmentation 'blur'/,
      ],
      [
        'nest.yaml',
        'grid:\n  optimizer: { adam: { lr: [1] } }\n',
        /nest\.yaml: grid\.optimizer\.adam: unknown optimizer; allowed: sgd, scale-amended/,
      ],
      [
        'top.json',
        '{"grid": {"seed": [0]}, "bsae": {}}',
        /top\.json: unknown key 'bsae' at the top; allowed: name, base, grid/,
      ],
      [
        'bool.yaml',
        'grid: { nesterov: [yes-please] }\n',
        /bool\.yaml: grid\.nesterov\[0\]: expected true or false/,
      ],
      ['broken.json', '{"grid": ', /broken\.json: not valid JSON/],
    ];
    for (const [name, text, re] of cases) {
      writeFileSync(join(dir, name), text);
      expect(() => readSweepFile(join(dir, name)), name).toThrow(re);
    }
    // cross-setting rules of train: per run
    writeFileSync(join(dir, 'nest.json'), JSON.stringify({ grid: { momentum: [0.9, 0], nesterov: [true] } }));
    expect(() => planSweep(readSweepFile(join(dir, 'nest.json')), { logDir: dir })).toThrow(
      /nest\.json: run momentum-0: --nesterov needs --momentum > 0/,
    );
  });

  it('through the CLI: a bad file and --queue without a Redis URL exit 2 and leave nothing', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.yaml'), 'grid: { width: [0] }\n');
    const bad = await runCli(['sweep', join(dir, 'bad.yaml'), '--log-dir', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml: grid\.width\[0\]: expected a number > 0/);
    writeFileSync(join(dir, 'ok.yaml'), 'name: s\ngrid: { seed: [0] }\n');
    const queue = await runCli(['sweep', join(dir, 'ok.yaml'), '--queue', '--log-dir', dir], {
      env: { BMP_REDIS_URL: '' },
    });
    expect(queue.code).toBe(2);
    expect(queue.stderr).toMatch(/--queue: give a Redis URL/);
    expect(existsSync(join(dir, 's'))).toBe(false);
  });
});

describe('sweep runs', () => {
  let dir = '';
  it('a 2x2 sweep with --jobs 2 gives each point the metrics of the same train run; SIGINT then --resume gives the same; status shows each run', async () => {
    dir = tempDir();
    const file = join(dir, 'sweep.yaml');
    writeFileSync(
      file,
      `base: ${JSON.stringify({ ...BASE, epochs: 3 })}\ngrid:\n  optimizer: [sgd, scale-amended]\n  seed: [0, 1]\n`,
    );
    let sawEpoch = false;
    const [full, part] = await Promise.all([
      runCli(['sweep', file, '--jobs', '2', '--log-dir', dir, '--name', 'full']),
      runCli(['sweep', file, '--jobs', '2', '--log-dir', dir, '--name', 'part', '--json'], {
        onLine: (line) => {
          if (!sawEpoch && line.includes('"type":"epoch"')) {
            sawEpoch = true;
            return 'SIGINT';
          }
          return undefined;
        },
      }),
    ]);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/optimizer-scale-amended\s+2\/2/);
    const plan = readPlan(join(dir, 'full'));
    expect(plan.status).toBe('completed');
    expect(plan.runs.map((r) => [r.runName, r.status])).toEqual(RUNS.map((r) => [r, 'finished']));
    expect(plan.groups?.map((g) => [g.group, g.runs, g.finished])).toEqual([
      ['optimizer-sgd', 2, 2],
      ['optimizer-scale-amended', 2, 2],
    ]);
    expect(plan.groups?.[0].finalTestError.std).not.toBeNull();

    // the same runs by `bmp-train train`, two at a time
    const trains = RUNS.map((name, i) => [
      'train',
      ...TINY_MLP,
      '--epochs',
      '3',
      '--optimizer',
      i < 2 ? 'sgd' : 'scale-amended',
      '--seed',
      String(i % 2),
      '--log-dir',
      join(dir, 'train'),
      '--run-name',
      name,
    ]);
    for (const pair of [trains.slice(0, 2), trains.slice(2)]) {
      const out = await Promise.all(pair.map((args) => runCli(args)));
      for (const o of out) expect(o.code, o.stderr).toBe(0);
    }
    for (const r of RUNS) {
      const a = epochs(join(dir, 'full', r));
      expect(a).toHaveLength(3);
      expect(epochs(join(dir, 'train', r)), r).toEqual(a);
      expect(plan.runs.find((x) => x.runName === r)?.result?.finalTestError).toBe(a[2].testError);
    }

    // interrupted: exit 130, sweep.json says so, and status shows it
    expect(part.code, part.stderr).toBe(130);
    const stopped = readPlan(join(dir, 'part'));
    expect(stopped.status).toBe('interrupted');
    expect(stopped.runs.some((r) => r.status !== 'finished')).toBe(true);
    const st = await runCli(['sweep', 'status', 'part', '--log-dir', dir]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/sweep part .*: interrupted/);
    expect(st.stdout).toMatch(/optimizer-sgd_seed-0\s+(interrupted|finished)\s+\d\/3/);
    expect(st.stdout).toMatch(/(pending|interrupted)\s+\d\/3/);

    // cancel of a stopped sweep marks it; --resume takes it up again and finishes it
    const cancel = await runCli(['sweep', 'cancel', join(dir, 'part')]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(readPlan(join(dir, 'part')).status).toBe('cancelled');
    const again = await runCli(['sweep', join(dir, 'sweep.yaml'), '--log-dir', dir, '--name', 'part']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a sweep: continue it with bmp-train sweep --resume/);
    const resumed = await runCli(['sweep', '--resume', join(dir, 'part'), '--jobs', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const done = readPlan(join(dir, 'part'));
    expect(done.status).toBe('completed');
    for (const r of RUNS) expect(epochs(join(dir, 'part', r)), r).toEqual(epochs(join(dir, 'full', r)));
    const st2 = await runCli(['sweep', 'status', join(dir, 'part')]);
    expect(st2.stdout).toMatch(/: completed/);
    for (const r of RUNS) expect(st2.stdout).toMatch(new RegExp(`${r}\\s+finished\\s+3/3\\s+\\d+\\.\\d\\d%`));
  }, 180_000);

  it('--jobs 1 (in this process): `sweep cancel` stops a running sweep after a checkpoint, --resume --jobs 1 finishes it with the results of train', async () => {
    const dir = tempDir();
    const file = join(dir, 'seeds.json');
    // 25 epochs (about 3 s a run): long enough for `sweep cancel` to start while the sweep runs
    writeFileSync(
      file,
      JSON.stringify({
        name: 'one',
        base: { ...BASE, optimizer: 'sgd', epochs: 25 },
        grid: { seed: [0, 1] },
      }),
    );
    let cancel: ReturnType<typeof runCli> | null = null;
    const trains = [0, 1].map((seed) =>
      runCli([
        'train',
        ...TINY_MLP,
        '--optimizer',
        'sgd',
        '--epochs',
        '25',
        '--seed',
        String(seed),
        '--log-dir',
        join(dir, 'train'),
        '--run-name',
        `seed-${seed}`,
      ]),
    );
    const run = await runCli(['sweep', file, '--jobs', '1', '--log-dir', dir, '--json'], {
      onLine: (line) => {
        if (!cancel && line.includes('"type":"epoch"'))
          cancel = runCli(['sweep', 'cancel', 'one', '--log-dir', dir]);
        return undefined;
      },
    });
    expect(cancel).not.toBeNull();
    const c = await cancel!;
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/sweep one: cancelled/);
    expect(run.code, run.stderr).toBe(130);
    const stopped = readPlan(join(dir, 'one'));
    expect(stopped.status).toBe('cancelled');
    expect(stopped.runs.map((r) => r.status)).not.toEqual(['finished', 'finished']);
    const resumed = await runCli(['sweep', '--resume', join(dir, 'one'), '--jobs', '1']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readPlan(join(dir, 'one')).status).toBe('completed');
    for (const t of await Promise.all(trains)) expect(t.code, t.stderr).toBe(0);
    for (const seed of [0, 1]) {
      const a = epochs(join(dir, 'one', `seed-${seed}`));
      expect(a).toHaveLength(25);
      expect(a).toEqual(epochs(join(dir, 'train', `seed-${seed}`)));
    }
  }, 60_000);
});
