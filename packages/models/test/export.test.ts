import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maxRelativeError, tf, useCpuBackend } from '@bmp/test-utils';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mlp, type Network, paperVgg, residualConvNet, residualMlp } from '../src';

let dir: string;
beforeAll(async () => {
  await useCpuBackend();
  dir = await mkdtemp(join(tmpdir(), 'bmp-models-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TOL = 1e-4;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** One training pass so that the running statistics are not the initial 0 / 1. */
function warm(model: Network, shape: number[]) {
  tf.tidy(() => {
    model.apply(tf.randomNormal(shape, 0.5, 2, 'float32', 21), { training: true });
  });
}

async function compare(model: Network, shape: number[]) {
  const layers = await loadLayersModel(tf.io.fromMemory(model.toLayersModelArtifacts()));
  const x = tf.randomNormal(shape, 0, 1, 'float32', 5);
  const expected = model.apply(x);
  const got = layers.predict(x) as tf.Tensor;
  expect(got.shape).toEqual(expected.shape);
  const diff = maxAbsDiff(got.dataSync(), expected.dataSync());
  tf.dispose([x, expected, got]);
  layers.dispose();
  return diff;
}

describe('export to the tfjs layers-model format', () => {
  it('paper VGG (28x28x1, zero-padded): tf.loadLayersModel(model.json + weights.bin) predicts like apply(eval)', async () => {
    const model = paperVgg({
      depth: 11,
      numClasses: 10,
      widthMultiplier: 0.125,
      inputShape: [28, 28, 1],
      seed: 8,
    });
    warm(model, [4, 28, 28, 1]);
    const out = join(dir, 'vgg');
    await model.exportLayersModel(out);
    expect((await readdir(out)).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const classes = json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
    expect(classes.slice(0, 5)).toEqual([
      'InputLayer',
      'ZeroPadding2D',
      'Conv2D',
      'BatchNormalization',
      'Activation',
    ]);
    expect(classes).toContain('MaxPooling2D');
    expect(classes.slice(-2)).toEqual(['Flatten', 'Dense']);
    const bn = json.modelTopology.config.layers.find(
      (l: { class_name: string }) => l.class_name === 'BatchNormalization',
    );
    // Keras' momentum is the weight of the old value: PyTorch momentum 0.1 <-> Keras 0.9
    expect(bn.config).toMatchObject({ center: false, scale: false, epsilon: 1e-5, momentum: 0.9 });
    const bin = await readFile(join(out, 'weights.bin'));
    const artifacts = tf.io.getModelArtifactsForJSON(json, async () => [
      json.weightsManifest[0].weights,
      bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    ]);
    const layers = await loadLayersModel(tf.io.fromMemory(await artifacts));
    // tfjs-layers counts the BN moving mean/variance as (non-trainable) parameters
    const buffers = model.variables.filter((v) => !v.trainable).reduce((s, v) => s + v.size, 0);
    expect(layers.countParams()).toBe(model.parameterCount + buffers);
    const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 6);
    const expected = model.apply(x);
    const got = layers.predict(x) as tf.Tensor;
    expect(got.shape).toEqual([3, 10]);
    expect(maxAbsDiff(got.dataSync(), expected.dataSync())).toBeLessThan(TOL);
    expect(maxRelativeError(got.dataSync(), expected.dataSync(), 1e-2)).toBeLessThan(1e-3);
    tf.dispose([x, expected, got]);
    layers.dispose();
    model.dispose();
  });

  it('paper VGG13 at 32x32x3 (no padding) via io.fromMemory', async () => {
    const model = paperVgg({ depth: 13, numClasses: 10, widthMultiplier: 0.0625, seed: 1 });
    warm(model, [2, 32, 32, 3]);
    expect(await compare(model, [2, 32, 32, 3])).toBeLessThan(TOL);
    model.dispose();
  });

  it('mlp with BN and a flattened image input', async () => {
    const model = mlp({ sizes: [16, 8, 3], batchNorm: true, inputShape: [4, 4, 1], seed: 2 });
    warm(model, [5, 4, 4, 1]);
    expect(await compare(model, [3, 4, 4, 1])).toBeLessThan(TOL);
    model.dispose();
  });

  it.each(['identity', 'orthogonal', 'non-orthogonal'] as const)(
    'residual nets with %s skips (Add, fixed skip weights)',
    async (skip) => {
      const dense = residualMlp({ inputSize: 6, width: 5, depth: 2, numClasses: 3, skip, seed: 3 });
      warm(dense, [6, 6]);
      expect(await compare(dense, [4, 6])).toBeLessThan(TOL);
      dense.dispose();
      const conv = residualConvNet({
        inputShape: [5, 5, 2],
        channels: 3,
        depth: 1,
        numClasses: 2,
        skip,
        seed: 4,
      });
      warm(conv, [3, 5, 5, 2]);
      expect(await compare(conv, [2, 5, 5, 2])).toBeLessThan(TOL);
      conv.dispose();
    },
  );
});
