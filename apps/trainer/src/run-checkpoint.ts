/** The checkpoint of a run in progress: model, optimizer slots, schedule and position in the data. */
import { type EpochAccumulators, writeCheckpoint } from './checkpoint';
import { serializeModel } from './model';
import type { ActiveRun } from './run';
import { tf } from './tf';

export async function saveRunCheckpoint(
  r: ActiveRun,
  at: { epoch: number; batch: number; acc: EpochAccumulators; orderHash: string | null },
): Promise<void> {
  const { inp, s, opt } = r;
  const metricsBytes = r.writers.flush();
  // getWeights returns a fresh `iter` scalar and the live momentum buffers: dispose only the former
  const optimizerWeights = await opt.getWeights();
  const fresh = optimizerWeights.filter((w) => w.name === 'iter').map((w) => w.tensor);
  try {
    await writeCheckpoint(
      inp.runDir,
      {
        modelBytes: await serializeModel(inp.model),
        optimizerWeights,
        state: {
          epoch: at.epoch,
          batch: at.batch,
          globalStep: r.globalStep,
          accumulators: { ...at.acc },
          schedule: r.schedule?.state() ?? null,
          learningRate: opt.learningRate,
          metricsBytes,
          rng: {
            seed: s.seed,
            dataSeed: s.dataSeed,
            generator:
              'mulberry32 streams mixed from (seed, epoch) for the order and (seed, epoch, image) for augmentation',
          },
          orderHash: at.orderHash,
          modelPrefix: inp.model.name,
        },
      },
      s.keepCheckpoints,
      inp.checkpointFault,
    );
  } finally {
    tf.dispose(fresh);
  }
}
