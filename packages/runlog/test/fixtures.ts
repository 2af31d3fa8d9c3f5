import type { EpochRecord, RunConfig, RunData, StepRecord } from '../src/index';

export function epochRecord(overrides: Partial<EpochRecord> = {}): EpochRecord {
  return {
    type: 'epoch',
    v: 1,
    epoch: 0,
    step: 100,
    optimizer: 'scale-amended',
    seed: 1,
    compareId: 'cmp-1',
    trainLoss: 1.25,
    trainAccuracy: 0.5,
    valAccuracy: 0.55,
    testLoss: 1.3,
    testError: 0.45,
    lr: 0.1,
    imagesPerSecond: 850.5,
    wallTime: 1_700_000_000.25,
    scales: [
      { name: 'block1/kernel', m: 0.625, mW: 1024, mZ: 2 },
      { name: 'dense/kernel', m: 1, mW: 3.5, mZ: 0.625, degenerate: false },
    ],
    ...overrides,
  };
}

export function stepRecord(overrides: Partial<StepRecord> = {}): StepRecord {
  return { type: 'step', v: 1, step: 50, wallTime: 1_700_000_000, loss: 1.5, lr: 0.1, ...overrides };
}

export function runConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    schemaVersion: 1,
    runName: 'vgg11-sa-s1',
    compareId: 'cmp-1',
    createdAt: '2025-01-01T00:00:00.000Z',
    optimizer: 'scale-amended',
    seed: 1,
    backend: 'wasm',
    versions: { node: 'v20.19.0', '@tensorflow/tfjs-core': '4.22.0', '@bmp/optimizer': '0.1.0' },
    model: { name: 'vgg11', width: 0.125, init: 'he' },
    dataset: { name: 'fashion-mnist-subset', imageShape: [28, 28, 1], numClasses: 10 },
    schedule: { name: 'plateau', factor: 0.5, patience: 10 },
    augmentations: ['flip', 'rotate'],
    settings: { lr: 0.1, momentum: 0.9, weightDecay: 0.005, epochs: 3, batchSize: 128 },
    ...overrides,
  };
}

/** A run from epoch records given as { epoch: value } of `testError`. */
export function runWith(
  name: string,
  optimizer: 'sgd' | 'scale-amended',
  seed: number,
  testErrors: number[],
  compareId: string | null = 'cmp-1',
): RunData {
  return {
    name,
    config: runConfig({ runName: name, optimizer, seed, compareId }),
    records: testErrors.map((testError, epoch) =>
      epochRecord({
        epoch,
        step: (epoch + 1) * 10,
        optimizer,
        seed,
        compareId,
        testError,
        wallTime: 100 + epoch,
      }),
    ),
    problems: [],
  };
}
