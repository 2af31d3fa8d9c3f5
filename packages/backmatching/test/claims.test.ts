import { analysisReportSchema, claimCheckSchema } from '@bmp/runlog';
import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkMarchenkoPastur,
  checkRemark1Counterexample,
  checkRemark1Random,
  claimCheck,
  PAPER_CLAIMS,
  runPaperClaims,
  skipSetup,
} from '../src/claims';

beforeAll(useCpuBackend);

describe('runPaperClaims: the paper claims as a report', () => {
  it('every check passes, the report validates against @bmp/runlog, no tensor leaks', async () => {
    const before = tf.memory().numTensors;
    const progress: [string, number, number][] = [];
    const t0 = performance.now();
    const claims = await runPaperClaims({ onProgress: (name, i, n) => progress.push([name, i, n]) });
    const seconds = (performance.now() - t0) / 1000;
    expect(tf.memory().numTensors).toBe(before);
    expect(claims.map((c) => c.name)).toEqual(PAPER_CLAIMS.map(([name]) => name));
    expect(progress).toEqual(PAPER_CLAIMS.map(([name], i) => [name, i, PAPER_CLAIMS.length]));
    expect(new Set(claims.map((c) => c.name)).size).toBe(10);
    for (const c of claims) {
      expect(c.passed, `${c.name}: ${c.measured} ${c.relation} ${c.bound}`).toBe(true);
      expect(c.details.sizes, c.name).toBeTypeOf('object');
      expect(claimCheckSchema.safeParse(c).success, c.name).toBe(true);
    }
    // The same report after a JSON round trip, as analysis.json carries it.
    const report = JSON.parse(
      JSON.stringify({ schemaVersion: 1, createdAt: new Date().toISOString(), blocks: [], claims }),
    );
    const parsed = analysisReportSchema.safeParse(report);
    expect(parsed.success, parsed.success ? '' : parsed.error.message).toBe(true);
    console.log(
      `${claims.length} claims in ${seconds.toFixed(1)} s:`,
      claims.map((c) => `${c.name} ${c.measured.toPrecision(3)} ${c.relation} ${c.bound.toPrecision(3)}`),
    );
  });

  it('another seed changes the measurement and still passes; bad seeds and setups are rejected', async () => {
    const a = checkMarchenkoPastur({ seed: 5 });
    const b = checkMarchenkoPastur({ seed: 6 });
    expect(a.passed && b.passed).toBe(true);
    expect(a.measured).not.toBe(b.measured);
    await expect(runPaperClaims({ seed: 1.5 })).rejects.toThrow(/seed must be an integer/);
    const before = tf.memory().numTensors;
    expect(() => skipSetup({ seed: 1, a: 1 })).toThrow(/0 < sigmaMax <= a < 1/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('broken inputs make the corresponding check fail', () => {
  it('the printed Remark 1 on the same random matrices: counterexamples found, passed = false', () => {
    const printed = checkRemark1Random({ statement: 'printed' });
    expect(printed.passed).toBe(false);
    // observed 24 of 2000 at seed 2018 (symmetric A with an eigenvalue near -(1 - s), s < 1/2)
    expect(printed.details.counterexamples as number).toBeGreaterThan(5);
    expect(claimCheckSchema.safeParse(printed).success).toBe(true);
  });

  it('a matrix that is no counterexample to the printed Remark 1 is reported as not caught', () => {
    // A = diag(0.5, 0.05), s = 0.1: C(A) = 10 > 1.22, sigma_max = 0.5 < 0.9, and C(I + A) = 1.5/1.05 = 1.43 < 10
    const c = checkRemark1Counterexample({
      matrix: [
        [0.5, 0],
        [0, 0.05],
      ],
      s: 0.1,
    });
    expect(c.measured).toBeCloseTo(1.5 / 1.05, 12);
    expect(c.bound).toBeCloseTo(10, 12);
    expect(c.passed).toBe(false);
  });

  it('Marchenko-Pastur with entry variance sigma2 / n_{b-1} (the wrong convention for eq. 11) fails', () => {
    const c = checkMarchenkoPastur({ entryVariance: 'sigma2/nIn' });
    // c = 0.5 and 2: the spectrum is scaled by 1/c; observed KS 0.15 and 0.31
    expect(c.measured).toBeGreaterThan(0.1);
    expect(c.passed).toBe(false);
  });

  it('a non-finite measurement fails the check and still validates (JSON has no NaN)', () => {
    const c = claimCheck({
      name: 'x',
      measured: Number.NaN,
      bound: 1,
      relation: '<',
      reference: 'r',
      description: 'd',
      seed: 0,
      details: { sizes: {} },
    });
    expect(c.passed).toBe(false);
    expect(c.details.measuredNonFinite).toBe('NaN');
    expect(claimCheckSchema.safeParse(JSON.parse(JSON.stringify(c))).success).toBe(true);
  });
});
