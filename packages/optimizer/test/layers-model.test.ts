import { tf, useCpuBackend } from '@bmp/test-utils';
import * as tfl from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { blocksFromLayersModel, ScaleAmendedSGD } from '../src';

beforeAll(useCpuBackend);

/** Three Gaussian blobs in 8 dimensions: a problem a small MLP must learn. */
function blobs(n: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const labels = tf.tensor1d(
      Array.from({ length: n }, (_, i) => i % 3),
      'int32',
    );
    const centers = tf.randomNormal([3, 8], 0, 2, 'float32', 42);
    const x = tf.add(tf.gather(centers, labels), tf.randomNormal([n, 8], 0, 1, 'float32', 43)) as tf.Tensor2D;
    return { x, y: tf.oneHot(labels, 3).toFloat() as tf.Tensor2D };
  });
}

describe('tf.LayersModel integration', () => {
  it('blocksFromLayersModel reads Dense and Conv2D layers in forward order with positions', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
        tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'valid' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 5 }),
      ],
    });
    const blocks = blocksFromLayersModel(model);
    expect(blocks.map((b) => b.kind)).toEqual(['conv2d', 'conv2d', 'dense']);
    expect(blocks[0]).toMatchObject({
      inputPositions: 64,
      outputPositions: 16,
      strides: [2, 2],
      padding: 'same',
    });
    expect(blocks[1]).toMatchObject({
      inputPositions: 16,
      outputPositions: 4,
      strides: [1, 1],
      padding: 'valid',
    });
    expect(blocks.map((b) => b.weight.shape)).toEqual([
      [3, 3, 2, 4],
      [3, 3, 4, 3],
      [12, 5],
    ]);
    expect(() => blocksFromLayersModel({ layers: [] })).toThrow(/no Dense or Conv2D/);
    model.dispose();
  });

  it('model.compile({ optimizer: ScaleAmendedSGD }) trains with fit and the loss falls', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [8], units: 32, activation: 'relu' }),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const optimizer = new ScaleAmendedSGD({
      learningRate: 0.01,
      momentum: 0.9,
      weightDecay: 1e-4,
      blocks: blocksFromLayersModel(model),
    });
    model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const { x, y } = blobs(300);
    const history = await model.fit(x, y, { epochs: 15, batchSize: 32, shuffle: true, verbose: 0 });
    const loss = history.history.loss as number[];
    expect(loss[loss.length - 1]).toBeLessThan(0.5 * loss[0]);
    expect((history.history.acc as number[]).at(-1)).toBeGreaterThan(0.9);
    // fit passes the array form; the scalars were computed for both kernels
    const scales = optimizer.lastScales();
    expect(scales).toHaveLength(2);
    expect(scales[1].m).toBe(1);
    expect(scales[0].m).toBeCloseTo(3 / 32, 12);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('tf.LayersModel save and load with the optimizer', () => {
  it('a model reloaded in the same process (variables renamed name_1) continues exactly', async () => {
    const build = () =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({
            inputShape: [8],
            units: 16,
            activation: 'relu',
            kernelInitializer: 'glorotNormal',
          }),
          tfl.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
    const model = build();
    const optimizer = new ScaleAmendedSGD({
      learningRate: 0.01,
      momentum: 0.9,
      blocks: blocksFromLayersModel(model),
    });
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const { x, y } = blobs(64);
    await model.fit(x, y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });

    let artifacts: tfl.io.ModelArtifacts | undefined;
    await model.save(
      tfl.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
      { includeOptimizer: true },
    );
    const loaded = await tfl.loadLayersModel(tfl.io.fromMemory(artifacts as tfl.io.ModelArtifacts));
    const loadedNames = loaded.weights.map((w) => (w.read() as tf.Variable).name);
    expect(loadedNames).not.toEqual(model.weights.map((w) => (w.read() as tf.Variable).name)); // renamed: the names are taken

    // one more identical batch on both: the reloaded optimizer binds its blocks and momentum to the renamed
    // variables and takes exactly the same step
    await model.fit(x, y, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 });
    await loaded.fit(x, y, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 });
    const restoredOpt = loaded.optimizer as ScaleAmendedSGD;
    expect(restoredOpt.getClassName()).toBe('ScaleAmendedSGD');
    expect(restoredOpt.lastScales().map((s) => s.name)).toEqual([loadedNames[0], loadedNames[2]]);
    model.weights.forEach((w, i) => {
      expect(loaded.weights[i].read().dataSync()).toEqual(w.read().dataSync());
    });
    tf.dispose([x, y]);
    model.dispose();
    loaded.dispose();
  });
});
