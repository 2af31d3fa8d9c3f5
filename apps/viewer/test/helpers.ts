import { type RunData, runFromTexts } from '@bmp/runlog';

/** A minimal valid epoch record (the fields the schema requires), with overrides. */
export function epochLine(fields: Record<string, unknown>): string {
  return JSON.stringify({
    type: 'epoch',
    v: 1,
    epoch: 0,
    step: 10,
    optimizer: 'sgd',
    seed: 0,
    compareId: 'cmp',
    trainLoss: 1,
    trainAccuracy: 0.5,
    testLoss: 1,
    testError: 0.5,
    lr: 0.1,
    imagesPerSecond: 100,
    wallTime: 1000,
    ...fields,
  });
}

export function runOf(name: string, lines: string[]): RunData {
  return runFromTexts(name, { metricsText: `${lines.join('\n')}\n` });
}
