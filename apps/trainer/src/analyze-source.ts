/** What analyze reads: the run's config and checkpoint, its model with the checkpoint loaded, one batch. */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { type BlockChain, blockChain } from '@bmp/backmatching';
import type { ImageDataset } from '@bmp/datasets';
import type { Network } from '@bmp/models';
import { type LoadedCheckpoint, latestCheckpoint, readCheckpoint } from './checkpoint';
import type { TrainSettings } from './config';
import { imageDatasetSource, normalizationOf } from './data';
import { AnalyzeError, UsageError } from './errors';
import { stripModelPrefix } from './model';
import { readStoredConfig } from './run-config';
import type { RunConfig } from './runlog';
import { tf } from './tf';

export interface AnalyzedRun {
  config: RunConfig;
  settings: TrainSettings;
  checkpointDir: string;
  checkpoint: LoadedCheckpoint;
}

/** The run's config.json (validated) and the checkpoint to analyse (`--checkpoint`, else the newest). */
export async function readAnalyzedRun(
  runDir: string,
  checkpointFlag: string | undefined,
): Promise<AnalyzedRun> {
  const configFile = join(runDir, 'config.json');
  const config = await readStoredConfig(configFile);
  const settings = config.settings as unknown as TrainSettings;
  if (typeof settings.model !== 'string')
    throw new AnalyzeError(`${configFile}: no settings (written by another program?)`);
  let checkpointDir: string;
  if (checkpointFlag) {
    checkpointDir = isAbsolute(checkpointFlag) ? checkpointFlag : resolve(checkpointFlag);
    if (!existsSync(join(checkpointDir, 'model.safetensors')))
      throw new UsageError(`--checkpoint ${checkpointFlag}: no model.safetensors there (not a checkpoint)`);
  } else {
    const latest = await latestCheckpoint(runDir);
    if (latest == null)
      throw new AnalyzeError(
        `${runDir}: no checkpoint in checkpoints/: nothing to analyse; train the run first (or --resume it)`,
      );
    checkpointDir = latest;
  }
  try {
    return { config, settings, checkpointDir, checkpoint: await readCheckpoint(checkpointDir) };
  } catch (e) {
    throw new AnalyzeError(`checkpoint ${checkpointDir} is unreadable: ${(e as Error).message}`);
  }
}

/** The blocks of the network with the checkpoint loaded, and the ones `--blocks` picks (indices). */
export function chosenBlocks(
  network: Network,
  run: AnalyzedRun,
  wanted: string[] | undefined,
): { chain: BlockChain; names: string[]; chosen: number[] } {
  try {
    network.loadBytes(run.checkpoint.modelBytes, join(run.checkpointDir, 'model.safetensors'));
  } catch (e) {
    throw new AnalyzeError(
      `checkpoint ${run.checkpointDir} does not fit the run's model: ${(e as Error).message}`,
    );
  }
  const chain = blockChain(network);
  const blocks = chain.blocks;
  const names = blocks.map((b) => stripModelPrefix(b.name, network.name));
  let chosen = blocks.map((_, i) => i);
  if (wanted && wanted.length > 0) {
    const unknown = wanted.filter((n) => !names.includes(n) && !blocks.some((b) => b.name === n));
    if (unknown.length > 0)
      throw new UsageError(
        `--blocks: unknown block ${unknown.map((n) => `'${n}'`).join(', ')}; the blocks are ${names.join(', ')}`,
      );
    chosen = chosen.filter((i) => wanted.includes(names[i]) || wanted.includes(blocks[i].name));
  }
  return { chain, names, chosen };
}

/**
 * One batch of the run's own training data: the first batch of a shuffle seeded by `seed`, normalised
 * like training; labels one-hot. The caller disposes both tensors.
 */
export async function analysisBatch(
  train: ImageDataset,
  batchSize: number,
  seed: number,
): Promise<{ x: tf.Tensor; labels: tf.Tensor }> {
  const normalize = normalizationOf(train);
  const source = imageDatasetSource(train, { batchSize, seed, shuffle: true, normalize });
  for await (const b of source.batches(0, 0)) {
    const numClasses = train.classNames.length;
    const labels = tf.tidy(() => tf.cast(tf.oneHot(tf.cast(b.ys, 'int32'), numClasses), 'float32'));
    b.ys.dispose();
    return { x: b.xs, labels };
  }
  throw new AnalyzeError('the training data gave no batch');
}
