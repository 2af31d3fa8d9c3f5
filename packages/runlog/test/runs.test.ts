import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  aggregateSeeds,
  epochRecords,
  epochSeries,
  groupByCompare,
  runFromTexts,
  runIdentity,
  scaleBlockNames,
  scaleSeries,
  stepSeries,
  toJsonlLine,
} from '../src/index';
import {
  findRunDirs,
  listRuns,
  loadRun,
  MetricsWriter,
  TensorBoardWriter,
  writeJsonAtomicSync,
} from '../src/node';
import { epochRecord, runConfig, runWith, stepRecord } from './fixtures';

describe('aggregateSeeds', () => {
  it('mean and sample standard deviation per epoch, by hand', () => {
    const runs = [
      runWith('a', 'sgd', 1, [0.5, 0.3]),
      runWith('b', 'sgd', 2, [0.4, 0.2]),
      runWith('c', 'sgd', 3, [0.3]), // stopped after one epoch
    ];
    const agg = aggregateSeeds(runs, 'testError');
    expect(agg).toHaveLength(2);
    // epoch 0: mean 0.4, std sqrt((0.01 + 0 + 0.01) / 2) = 0.1
    expect(agg[0]).toMatchObject({ epoch: 0, n: 3, min: 0.3, max: 0.5 });
    expect(agg[0].mean).toBeCloseTo(0.4, 12);
    expect(agg[0].std).toBeCloseTo(0.1, 12);
    // epoch 1: mean 0.25, std sqrt(2 * 0.05^2 / 1) = 0.0707106781...
    expect(agg[1]).toMatchObject({ epoch: 1, n: 2 });
    expect(agg[1].mean).toBeCloseTo(0.25, 12);
    expect(agg[1].std).toBeCloseTo(Math.SQRT1_2 / 10, 12);
  });

  it('one run gives std 0; missing optional metrics are skipped', () => {
    const one = runWith('a', 'sgd', 1, [0.5]);
    expect(aggregateSeeds([one], 'testError')).toEqual([
      { epoch: 0, n: 1, mean: 0.5, std: 0, min: 0.5, max: 0.5 },
    ]);
    expect(aggregateSeeds([one], 'valLoss')).toEqual([]);
  });
});

describe('grouping and series', () => {
  it('groups runs by compareId and optimizer, seeds in order, loose runs last', () => {
    const runs = [
      runWith('sa-s2', 'scale-amended', 2, [0.3]),
      runWith('loose', 'sgd', 1, [0.9], null),
      runWith('sgd-s1', 'sgd', 1, [0.4]),
      runWith('sa-s1', 'scale-amended', 1, [0.2]),
      runWith('other', 'sgd', 1, [0.4], 'cmp-0'),
    ];
    const groups = groupByCompare(runs);
    expect(groups.map((g) => g.compareId)).toEqual(['cmp-0', 'cmp-1', null]);
    const g = groups[1];
    expect(g.runs.map((r) => r.name)).toEqual(['sa-s1', 'sa-s2', 'sgd-s1']);
    expect(g.byOptimizer['scale-amended']?.map((r) => r.name)).toEqual(['sa-s1', 'sa-s2']);
    expect(g.byOptimizer.sgd?.map((r) => r.name)).toEqual(['sgd-s1']);
  });

  it('identity comes from the epoch records when config.json is missing', () => {
    const run = { ...runWith('x', 'sgd', 4, [0.1], 'c9'), config: null };
    expect(runIdentity(run)).toEqual({ compareId: 'c9', optimizer: 'sgd', seed: 4 });
  });

  it('a resumed run that logged an epoch twice counts it once (the last record)', () => {
    const recs = [epochRecord({ epoch: 0, testError: 0.5 }), epochRecord({ epoch: 1, testError: 0.4 })];
    const again = epochRecord({ epoch: 1, testError: 0.35 });
    expect(epochRecords([...recs, stepRecord(), again]).map((r) => r.testError)).toEqual([0.5, 0.35]);
  });

  it('series against epoch, step and relative time; scales per block', () => {
    const run = runWith('r', 'scale-amended', 1, [0.5, 0.4, 0.3]);
    run.records.push(stepRecord({ step: 5, wallTime: 99, loss: 2 }));
    expect(epochSeries(run, 'testError')).toEqual([
      { x: 0, y: 0.5 },
      { x: 1, y: 0.4 },
      { x: 2, y: 0.3 },
    ]);
    expect(epochSeries(run, 'testError', 'step').map((p) => p.x)).toEqual([10, 20, 30]);
    expect(epochSeries(run, 'testError', 'relativeTime').map((p) => p.x)).toEqual([1, 2, 3]); // t0 = 99
    expect(stepSeries(run, 'loss')).toEqual([{ x: 5, y: 2 }]);
    expect(scaleBlockNames(run)).toEqual(['block1/kernel', 'dense/kernel']);
    expect(scaleSeries(run, 'block1/kernel', 'mW')).toEqual([
      { x: 0, y: 1024 },
      { x: 1, y: 1024 },
      { x: 2, y: 1024 },
    ]);
  });

  it('runFromTexts (browser) never throws and says what is wrong', () => {
    const ok = runFromTexts('r', {
      configText: JSON.stringify(runConfig()),
      metricsText: toJsonlLine(epochRecord()) + 'garbage\n',
    });
    expect(ok.config?.runName).toBe('vgg11-sa-s1');
    expect(ok.records).toHaveLength(1);
    expect(ok.problems).toEqual([{ line: 2, message: expect.stringMatching(/^not valid JSON/) }]);
    expect(runFromTexts('r', {}).configProblem).toBe('config.json is missing');
    expect(runFromTexts('r', { configText: '{' }).configProblem).toMatch(/not valid JSON/);
    expect(runFromTexts('r', { configText: '{"runName": 3}' }).configProblem).toMatch(
      /^config\.json: schemaVersion: /,
    );
  });
});

describe('listRuns / loadRun (node)', () => {
  it('finds runs, also inside compare directories, and reads them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-runs-'));
    try {
      const mk = (rel: string, seed: number) => {
        const runDir = join(dir, rel);
        mkdirSync(join(runDir, 'checkpoints', 'epoch-1'), { recursive: true });
        writeFileSync(join(runDir, 'checkpoints', 'epoch-1', 'config.json'), '{}'); // must not count as a run
        writeJsonAtomicSync(join(runDir, 'config.json'), runConfig({ runName: rel, seed }));
        const w = new MetricsWriter(join(runDir, 'metrics.jsonl'));
        w.append(epochRecord({ seed }));
        w.close();
        new TensorBoardWriter(runDir, { host: 'h', wallTime: 1 }).close();
      };
      mk('cmp/sa-s1', 1);
      mk('cmp/sa-s2', 2);
      mkdirSync(join(dir, 'broken'));
      writeFileSync(join(dir, 'broken', 'metrics.jsonl'), '{"type":"epoch"\n');
      const runs = await listRuns(dir);
      expect(runs.map((r) => r.name)).toEqual(['broken', 'cmp/sa-s1', 'cmp/sa-s2']);
      expect(runs[0]).toMatchObject({ config: null, configProblem: 'config.json is missing', records: [] });
      expect(runs[0].problems).toHaveLength(1);
      expect(runs[1].eventFiles).toEqual(['events.out.tfevents.1.h']);
      expect(groupByCompare(runs)[0].byOptimizer['scale-amended']).toHaveLength(2);
      expect(aggregateSeeds(runs.slice(1), 'testError')[0]).toMatchObject({ n: 2, mean: 0.45 });
      expect((await loadRun(join(dir, 'cmp', 'sa-s1'))).records).toHaveLength(1);
      expect(await listRuns(join(dir, 'nope'))).toEqual([]);
      // Other markers (the viewer also lists folders holding only analysis.json), depth limit, hidden folders.
      mkdirSync(join(dir, 'only-analysis'));
      writeFileSync(join(dir, 'only-analysis', 'analysis.json'), '{}');
      mkdirSync(join(dir, '.hidden', 'run'), { recursive: true });
      writeFileSync(join(dir, '.hidden', 'run', 'metrics.jsonl'), '');
      const found = await findRunDirs(dir, { markers: ['metrics.jsonl', 'analysis.json'] });
      expect(found.map((f) => [f.name, f.files])).toEqual([
        ['broken', ['metrics.jsonl']],
        ['cmp/sa-s1', ['metrics.jsonl']],
        ['cmp/sa-s2', ['metrics.jsonl']],
        ['only-analysis', ['analysis.json']],
      ]);
      expect((await findRunDirs(dir, { maxDepth: 0 })).map((f) => f.name)).toEqual([]);
      // <log-dir>/<compare>/<run> is depth 2.
      expect((await findRunDirs(dir, { maxDepth: 1 })).map((f) => f.name)).toEqual(['broken']);
      expect((await findRunDirs(dir, { maxDepth: 2 })).map((f) => f.name)).toEqual([
        'broken',
        'cmp/sa-s1',
        'cmp/sa-s2',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
