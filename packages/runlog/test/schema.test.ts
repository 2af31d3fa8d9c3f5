import { describe, expect, it } from 'vitest';
import {
  type AnalysisReport,
  METRICS_SCHEMA_VERSION,
  parseAnalysisReport,
  parseMetricsRecord,
  parseRunConfig,
  RunlogSchemaError,
  safeParseAnalysisReport,
  safeParseMetricsRecord,
  safeParseRunConfig,
} from '../src/index';
import { epochRecord, runConfig, stepRecord } from './fixtures';

function analysisReport(): AnalysisReport {
  return {
    schemaVersion: 1,
    createdAt: '2025-01-01T00:00:00.000Z',
    source: { run: 'vgg11-sa-s1', checkpoint: 'checkpoints/epoch-3' },
    seed: 7,
    blocks: [
      {
        name: 'dense_1/kernel',
        kind: 'dense',
        dims: { nIn: 512, nOut: 256, batch: 1024 },
        batchNorm: false,
        spectra: [
          {
            matrix: 'Hz',
            dimension: 512,
            eigenvalues: {
              min: 0,
              max: 11.2,
              count: 512,
              method: 'dense',
              histogram: { edges: [0, 5, 11.2], counts: [400, 112] },
            },
            condition: { value: 30.1, rankTolerance: 1e-6, rank: 256 },
            marchenkoPastur: {
              c: 0.5,
              sigma2: 2,
              sigma2Method: 'weights',
              lower: 0.34,
              upper: 11.7,
              ksDistance: 0.03,
            },
          },
        ],
        eq24: { mW: 4, mZ: 0.5, exactW: 4.1, exactZ: 0.49, traceMethod: 'exact' },
      },
    ],
    claims: [
      { name: 'marchenko-pastur-gaussian', passed: true, measured: 0.03, bound: 0.05, relation: '<=' },
      { name: 'remark-1-counterexample', passed: false, measured: 2.73, bound: 1.27, reference: 'Remark 1' },
    ],
  };
}

describe('metrics records', () => {
  it('accepts epoch, step and event records', () => {
    expect(parseMetricsRecord(epochRecord())).toMatchObject({ type: 'epoch', epoch: 0 });
    expect(parseMetricsRecord(stepRecord())).toMatchObject({ type: 'step', step: 50 });
    const ev = { type: 'event', v: 1, event: 'resume', wallTime: 5, step: 10, checkpoint: 'checkpoints/e1' };
    expect(parseMetricsRecord(ev)).toEqual(ev);
  });

  it('accepts an epoch record without the optional fields (sgd: no scales, no validation split)', () => {
    const { scales: _s, valAccuracy: _v, ...rest } = epochRecord({ optimizer: 'sgd' });
    expect(safeParseMetricsRecord(rest).ok).toBe(true);
  });

  it('keeps unknown extra keys (forward compatible)', () => {
    const r = parseMetricsRecord({ ...epochRecord(), gradNorm: 3.5, extra: { a: 1 } });
    expect(r).toMatchObject({ gradNorm: 3.5, extra: { a: 1 } });
    const s = parseMetricsRecord(
      epochRecord({ scales: [{ name: 'b', m: 1, mW: 2, mZ: 3, frozen: true, future: 'x' } as never] }),
    );
    expect(s.type === 'epoch' && s.scales?.[0]).toMatchObject({ future: 'x', frozen: true });
  });

  it.each([
    ['trainLoss', { trainLoss: '1.2' }, /trainLoss: .*expected number/],
    ['epoch', { epoch: 1.5 }, /epoch: .*integer/],
    ['optimizer', { optimizer: 'adam' }, /optimizer: /],
    ['compareId', { compareId: 5 }, /compareId: /],
    [
      'scales[1].mW',
      {
        scales: [
          { name: 'a', m: 1, mW: 1, mZ: 1 },
          { name: 'b', m: 1, mW: 'x', mZ: 1 },
        ],
      },
      /scales\[1\]\.mW: /,
    ],
    ['v (newer)', { v: METRICS_SCHEMA_VERSION + 1 }, /^v: .*newer.*upgrade @bmp\/runlog/],
    ['v (missing)', { v: undefined }, /^v: /],
  ])('rejects a wrong %s, naming the field', (_name, patch, message) => {
    const r = safeParseMetricsRecord({ ...epochRecord(), ...patch });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('names a missing required field', () => {
    const { testError: _t, ...rest } = epochRecord();
    const r = safeParseMetricsRecord(rest);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues).toEqual([{ path: 'testError', message: 'missing (expected number)' }]);
  });

  it('rejects NaN and infinities (they cannot be written as JSON numbers anyway)', () => {
    expect(safeParseMetricsRecord(stepRecord({ loss: Number.NaN })).ok).toBe(false);
    expect(safeParseMetricsRecord(stepRecord({ loss: Number.POSITIVE_INFINITY })).ok).toBe(false);
  });

  it('says what is wrong with the record type', () => {
    const unknown = safeParseMetricsRecord({ type: 'histogram', v: 1 });
    expect(!unknown.ok && unknown.error).toBe(
      'type: unknown record type "histogram" (expected one of "epoch", "step", "event")',
    );
    const missing = safeParseMetricsRecord({ v: 1 });
    expect(!missing.ok && missing.error).toMatch(/^type: missing/);
    const notObject = safeParseMetricsRecord([1, 2]);
    expect(!notObject.ok && notObject.error).toBe('(root): expected a JSON object');
  });

  it('parse* throws a RunlogSchemaError with the issues', () => {
    try {
      parseMetricsRecord(stepRecord({ lr: 'fast' as never }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RunlogSchemaError);
      expect((e as RunlogSchemaError).issues[0].path).toBe('lr');
      expect((e as Error).message).toMatch(/^invalid metrics record: lr: /);
    }
  });
});

describe('config.json', () => {
  it('accepts a full config and keeps extra keys', () => {
    const c = parseRunConfig({ ...runConfig(), initWeightsHash: 'abc', kind: 'bmp-train-run' });
    expect(c).toMatchObject({ optimizer: 'scale-amended', initWeightsHash: 'abc', kind: 'bmp-train-run' });
    expect(c.schedule).toEqual({ name: 'plateau', factor: 0.5, patience: 10 });
  });

  it("accepts the native kernels' variant in device.native, and a device without it (older runs)", () => {
    const native = {
      isa: 'avx2',
      lanes: 8,
      threads: 2,
      available: ['baseline', 'avx2'],
      isaChoice: 'BMP_NATIVE_ISA=avx2',
    };
    const device = { kind: 'cpu', label: 'CPU (wasm, native avx2 kernels, 2 thread(s))' };
    expect(parseRunConfig({ ...runConfig(), device: { ...device, native } }).device?.native).toEqual(native);
    expect(parseRunConfig({ ...runConfig(), device }).device?.native).toBeUndefined();
  });

  it.each([
    [
      'device.native.isa',
      { device: { kind: 'cpu', label: 'CPU', native: { lanes: 8 } } },
      /^device\.native\.isa: /,
    ],
    ['seed', { seed: 'one' }, /^seed: /],
    ['optimizer', { optimizer: 'Adam' }, /^optimizer: /],
    ['model.name', { model: { width: 1 } }, /^model\.name: /],
    ['versions.node', { versions: { node: 20 } }, /^versions\.node: /],
    ['augmentations[1]', { augmentations: ['flip', 3] }, /^augmentations\[1\]: /],
    ['schemaVersion', { schemaVersion: 2 }, /^schemaVersion: .*newer/],
  ])('rejects a wrong %s, naming the field', (_name, patch, message) => {
    const r = safeParseRunConfig({ ...runConfig(), ...patch });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('reports every wrong field at once', () => {
    const r = safeParseRunConfig({ ...runConfig(), seed: 'x', backend: 7 });
    expect(!r.ok && r.issues.map((i) => i.path).sort()).toEqual(['backend', 'seed']);
  });
});

describe('analysis.json', () => {
  it('accepts a report', () => {
    const r = parseAnalysisReport({ ...analysisReport(), futureField: [1] });
    expect(r.blocks[0].spectra[0].marchenkoPastur?.c).toBe(0.5);
    expect(r.claims.map((c) => c.passed)).toEqual([true, false]);
  });

  it('accepts an SLQ density with its grid, band and distance to the exact spectrum, and the older form', () => {
    const a = analysisReport();
    const ev = a.blocks[0].spectra[0].eigenvalues;
    const full = {
      method: 'slq',
      nodes: [0.001, 2, 5, 0.5, 4],
      weights: [0.2, 0.2, 0.1, 0.25, 0.25],
      probes: 2,
      lanczosSteps: 2,
      firstProbeSteps: 3,
      probeOffsets: [0, 3, 5],
      broadening: 0.1,
      scale: 'log10' as const,
      grid: [0.001, 0.1, 10],
      density: [0.1, 0.5, 0.01],
      standardError: [0.01, 0.05, 0.001],
      zeroTolerance: 1e-6,
      zeroMass: 0,
      negativeMass: 0,
      exactDistance: { ks: 0.04, at: 2, wasserstein1Relative: 0.003, zeroTolerance: 1e-6 },
    };
    ev.density = full;
    ev.convergedValues = [true, false];
    expect(parseAnalysisReport(a).blocks[0].spectra[0].eigenvalues.density?.exactDistance?.ks).toBe(0.04);
    // Reports written before: nodes, weights, probes and steps only.
    ev.density = { nodes: [1], weights: [1], probes: 1, lanczosSteps: 1 };
    delete ev.convergedValues;
    expect(parseAnalysisReport(a).blocks[0].spectra[0].eigenvalues.density?.scale).toBeUndefined();
    ev.density = { ...full, scale: 'cubic' as 'log10' };
    const r = safeParseAnalysisReport(a);
    expect(!r.ok && r.issues.map((i) => i.path)).toContain('blocks[0].spectra[0].eigenvalues.density.scale');
    ev.density = { ...full, exactDistance: { ks: -1 } };
    expect(safeParseAnalysisReport(a).ok).toBe(false);
  });

  it.each([
    [
      'blocks[0].spectra[0].condition.rankTolerance',
      (a: AnalysisReport) => {
        a.blocks[0].spectra[0].condition.rankTolerance = -1;
      },
    ],
    [
      'blocks[0].spectra[0].eigenvalues.histogram.counts',
      (a: AnalysisReport) => {
        a.blocks[0].spectra[0].eigenvalues.histogram!.counts = [512];
      },
    ],
    [
      'claims[1].passed',
      (a: AnalysisReport) => {
        (a.claims[1] as Record<string, unknown>).passed = 'no';
      },
    ],
    [
      'blocks[0].dims.nIn',
      (a: AnalysisReport) => {
        a.blocks[0].dims.nIn = 1.5;
      },
    ],
    [
      'blocks[0].spectra[0].marchenkoPastur.sigma2Method',
      (a: AnalysisReport) => {
        delete (a.blocks[0].spectra[0].marchenkoPastur as Record<string, unknown>).sigma2Method;
      },
    ],
  ])('rejects a wrong %s, naming the field', (path, mutate) => {
    const a = analysisReport();
    mutate(a);
    const r = safeParseAnalysisReport(a);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toContain(path);
  });
});
