import { syntheticDataset } from '@bmp/datasets';
import { mlp } from '@bmp/models';
import { epochRecordSchema } from '@bmp/runlog';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend, train } from '../src/index';
import { readJsonl } from '../src/runlog';
import { tempDir } from './helpers';

// Every epoch record carries testLoss/testError (required by @bmp/runlog, plotted by the viewer): the
// trainer refuses to run without test images rather than log a made-up error.
beforeAll(async () => {
  await setupBackend('cpu');
});

const model = () => mlp({ sizes: [36, 8, 4], batchNorm: true, inputShape: [6, 6, 1], seed: 1, name: 'tsr' });
const trainSet = syntheticDataset({ count: 64, shape: [6, 6, 1], numClasses: 4, seed: 3 });

describe('test set required', () => {
  it('an empty test set is refused before training, naming the run', async () => {
    const m = model();
    const empty = syntheticDataset({ count: 0, shape: [6, 6, 1], numClasses: 4, seed: 3 });
    await expect(
      train({
        settings: { epochs: 1, batchSize: 32, logDir: tempDir(), runName: 'empty' },
        model: m,
        data: { train: trainSet, test: empty, numClasses: 4 },
        skipBackendSetup: true,
      }),
    ).rejects.toThrow('empty: the test set is empty');
    m.dispose();
  });

  it('a test iterator that yields nothing fails at the first evaluation, no record is written', async () => {
    const m = model();
    const logDir = tempDir();
    await expect(
      train({
        settings: { epochs: 1, batchSize: 32, logDir, runName: 'none' },
        model: m,
        data: { train: trainSet, test: () => [], numClasses: 4 },
        skipBackendSetup: true,
      }),
    ).rejects.toThrow('the test set gave no batches');
    const records = await readJsonl(`${logDir}/none/metrics.jsonl`);
    expect(records.filter((r) => r.type === 'epoch')).toHaveLength(0);
    m.dispose();
  });

  it('with a test set, every epoch record validates against the strict epoch schema', async () => {
    const m = model();
    const logDir = tempDir();
    const r = await train({
      settings: { epochs: 1, batchSize: 32, logDir, runName: 'ok' },
      model: m,
      data: { train: trainSet, test: trainSet, numClasses: 4 },
      skipBackendSetup: true,
    });
    for (const e of r.epochs) expect(epochRecordSchema.safeParse(e).success).toBe(true);
    expect(r.epochs[0].testError).toBeGreaterThanOrEqual(0);
    m.dispose();
  });
});
