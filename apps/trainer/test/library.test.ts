import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticDataset } from '@bmp/datasets';
import { mlp } from '@bmp/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpoint, readCheckpoint } from '../src/checkpoint';
import { compare, setupBackend, train } from '../src/index';
import { tf } from '../src/tf';
import { tempDir } from './helpers';

const data = syntheticDataset({ count: 200, shape: [6, 6, 1], numClasses: 4, seed: 3 });
const tiny = {
  dataset: 'synthetic' as const,
  imageShape: [6, 6, 1] as [number, number, number],
  syntheticCount: 160,
  numClasses: 4,
  model: 'mlp' as const,
  width: 8,
  batchSize: 32,
  backend: 'cpu' as const,
};

beforeAll(async () => {
  await setupBackend('cpu');
});

describe('library API', () => {
  it('train() with settings returns the epoch records and final/best test error', async () => {
    const logDir = tempDir();
    const r = await train({ settings: { ...tiny, epochs: 2, logDir, runName: 'lib' } });
    expect(r.status).toBe('completed');
    expect(r.epochs).toHaveLength(2);
    expect(r.finalTestError).toBe(r.epochs[1].testError);
    expect(r.bestTestError).toBe(Math.min(r.epochs[0].testError!, r.epochs[1].testError!));
  });

  it('compare() with the user model (apply + blocks + variables) and tensor data: same start for both', async () => {
    const logDir = tempDir();
    const xs = tf.tensor4d(
      Float32Array.from(data.images, (v) => v / 255),
      [200, 6, 6, 1],
    );
    const ys = tf.tensor1d(data.labels, 'int32');
    const model = mlp({
      sizes: [36, 16, 4],
      batchNorm: true,
      inputShape: [6, 6, 1],
      seed: 1,
      name: 'usermlp',
    });
    const before = tf.memory().numTensors;
    const result = await compare({
      settings: { epochs: 2, batchSize: 25, logDir },
      name: 'user',
      model,
      data: { train: { xs, ys }, test: { xs, ys }, numClasses: 4 },
      lrs: { sgd: [0.1], 'scale-amended': [0.05] },
      skipBackendSetup: true,
    });
    expect(result.status).toBe('completed');
    expect(result.runs).toHaveLength(2);
    expect(result.checks[0].initWeightsMatch).toBe(true);
    expect(result.checks[0].orderHashesMatch).toBe(true);
    expect(result.runs[0].epochs[0].orderHash).toMatch(/^[0-9a-f]{8}$/);
    expect(result.summary.map((s) => s.optimizer)).toEqual(['sgd', 'scale-amended']);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('train() with a tf.LayersModel and an async iterator of batches', async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const model = tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [6, 6, 1] }),
        tfl.layers.dense({ units: 16, useBias: false }),
        // (tfjs-layers 4.22 cannot train BN with center: false, scale: false: it reads the missing gamma)
        tfl.layers.batchNormalization(),
        tfl.layers.reLU(),
        tfl.layers.dense({ units: 4, useBias: false, activation: 'softmax' }),
      ],
    });
    async function* batches() {
      for (let b = 0; b < 5; b++) {
        const idx = Array.from({ length: 40 }, (_, i) => b * 40 + i);
        const x = Float32Array.from(
          idx.flatMap((i) => Array.from(data.images.subarray(i * 36, (i + 1) * 36), (v) => v / 255)),
        );
        yield {
          xs: tf.tensor4d(x, [40, 6, 6, 1]),
          ys: tf.oneHot(
            tf.tensor1d(
              idx.map((i) => data.labels[i]),
              'int32',
            ),
            4,
          ),
        };
      }
    }
    const logDir = tempDir();
    const r = await train({
      settings: { epochs: 3, optimizer: 'scale-amended', lr: 0.05, logDir, runName: 'layers' },
      model,
      data: { train: () => batches(), test: () => batches(), numClasses: 4 },
      skipBackendSetup: true,
    });
    expect(r.status).toBe('completed');
    expect(r.epochs[2].trainLoss).toBeLessThan(r.epochs[0].trainLoss);
    expect(r.epochs[0].orderHash).toBeNull();
    expect(r.epochs[0].scales?.map((s) => s.mZ)).toHaveLength(2);
  });

  it('a non-finite loss stops the run with a clear message and keeps the last good checkpoint', async () => {
    const logDir = tempDir();
    // a user model whose logits become infinite at its 8th training step (epoch 2 of 5 batches each)
    const w = tf.variable(tf.randomNormal([36, 4], 0, 0.1, 'float32', 1), true, 'nanmodel/fc/kernel');
    let calls = 0;
    const model = {
      name: 'nanmodel',
      blocks: [{ weight: w, kind: 'dense' as const }],
      trainableVariables: [w],
      apply: (x: tf.Tensor, { training }: { training: boolean }) => {
        const scale = training && ++calls >= 8 ? Number.POSITIVE_INFINITY : 1;
        return tf.mul(tf.matMul(tf.reshape(x, [x.shape[0], 36]), w), scale);
      },
    };
    const xs = tf.tensor4d(
      Float32Array.from(data.images, (v) => v / 255),
      [200, 6, 6, 1],
    );
    const ys = tf.tensor1d(data.labels, 'int32');
    const r = await train({
      settings: { epochs: 4, batchSize: 40, optimizer: 'sgd', lr: 0.1, logDir, runName: 'nan' },
      model,
      data: { train: { xs, ys }, test: { xs, ys }, numClasses: 4 },
      skipBackendSetup: true,
    });
    expect(r.status).toBe('diverged');
    expect(r.message).toMatch(
      /^training diverged: the loss is (NaN|Infinity) at epoch 2, batch 3 \(step 8\)/,
    );
    expect(r.message).toMatch(/last good checkpoint/);
    expect(r.epochs).toHaveLength(1);
    const ck = await readCheckpoint((await latestCheckpoint(join(logDir, 'nan')))!);
    expect(ck.state).toMatchObject({ epoch: 1, batch: 0, globalStep: 5 });
    tf.dispose([xs, ys, w]);
  });
});

describe('atomic checkpoints', () => {
  it('a crash while writing a checkpoint leaves the previous one complete and referenced', async () => {
    const logDir = tempDir();
    let calls = 0;
    const failing = train({
      settings: { ...tiny, epochs: 3, logDir, runName: 'crash' },
      checkpointFault: (stage) => {
        if (stage === 'optimizer' && ++calls === 2) throw new Error('simulated crash while writing');
      },
    });
    await expect(failing).rejects.toThrow('simulated crash');
    const root = join(logDir, 'crash', 'checkpoints');
    expect(readdirSync(root).sort()).toEqual(['epoch-0001-batch-000000', 'latest.json']);
    expect(JSON.parse(readFileSync(join(root, 'latest.json'), 'utf8')).checkpoint).toBe(
      'epoch-0001-batch-000000',
    );
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'state.json']) {
      expect(existsSync(join(root, 'epoch-0001-batch-000000', f))).toBe(true);
    }
    // and the run continues from it
    const resumed = await train({ resume: join(logDir, 'crash') });
    expect(resumed.status).toBe('completed');
    expect(resumed.epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
  });
});
