/** Batch sources: what the training loop consumes (a data set, in-memory tensors, or the user's iterator). */
import { Batcher, batchToTensors, channelStats, type ImageDataset, orderHash } from '@bmp/datasets';
import { mixSeed } from '@bmp/random';
import { DataError } from './errors';
import { permutation } from './permutation';
import { tf } from './tf';

export interface TensorBatch {
  xs: tf.Tensor;
  /** int32 class labels `[n]`. */
  ys: tf.Tensor1D;
  size: number;
}

export interface BatchSource {
  /** Number of examples (null when unknown, e.g. an iterator). */
  readonly count: number | null;
  readonly numBatches: number | null;
  /** Examples left out of every epoch (a last batch of one image, see ImageSourceOptions). */
  readonly dropped?: number;
  /** Hash of an epoch's example order, or null when the source cannot tell. */
  orderHash(epoch: number): string | null;
  /** The batches of `epoch` from batch `start` on; the caller disposes each batch's tensors. */
  batches(epoch: number, start: number): AsyncIterable<TensorBatch>;
}

export interface ImageSourceOptions {
  batchSize: number;
  seed: number;
  shuffle: boolean;
  augment?: { flip?: boolean; maxRotation?: number; cropPadding?: number };
  normalize?: { mean: number[]; std: number[] };
  /**
   * Training with batch norm: leave out a last batch that would hold one image (its variance is 0, and
   * the running variance's n/(n-1) correction divides by zero). Like PyTorch's drop_last, but only then.
   */
  dropSingleLast?: boolean;
}

export function imageDatasetSource(dataset: ImageDataset, o: ImageSourceOptions): BatchSource {
  if (o.dropSingleLast && dataset.count === 1)
    throw new DataError('the training set holds one image: batch norm needs at least two images per batch');
  const dropLast = o.dropSingleLast === true && dataset.count % o.batchSize === 1;
  const batcher = new Batcher({
    dataset,
    batchSize: o.batchSize,
    seed: o.seed,
    shuffle: o.shuffle,
    augment: o.augment,
    normalize: o.normalize,
    dropLast,
  });
  return {
    count: dataset.count,
    numBatches: batcher.numBatches,
    dropped: dropLast ? 1 : 0,
    orderHash: (epoch) => batcher.orderHash(epoch).toString(16).padStart(8, '0'),
    async *batches(epoch, start) {
      for (const batch of batcher.epoch(epoch, start)) {
        const { xs, ys } = batchToTensors(batch);
        yield { xs, ys: ys as tf.Tensor1D, size: batch.size };
      }
    },
  };
}

export function normalizationOf(train: ImageDataset): { mean: number[]; std: number[] } {
  const stats = channelStats(train);
  return { mean: Array.from(stats.mean), std: Array.from(stats.std) };
}

/** In-memory tensors: xs `[n, ...]`, ys int32 labels `[n]` or one-hot `[n, classes]`. */
export function tensorSource(
  xsAll: tf.Tensor,
  ysAll: tf.Tensor,
  o: { batchSize: number; seed: number; shuffle: boolean },
): BatchSource {
  const n = xsAll.shape[0];
  if (ysAll.shape[0] !== n) throw new RangeError(`data: xs has ${n} examples, ys has ${ysAll.shape[0]}`);
  // Labels kept on the CPU: the source holds no tensor of its own once they are downloaded (asynchronously:
  // webgpu in Node has no synchronous download).
  const labelTensor = tf.tidy(() => (ysAll.rank === 2 ? tf.argMax(ysAll, 1) : tf.cast(ysAll, 'int32')));
  const labelsRead = labelTensor.data().then((values) => Int32Array.from(values));
  labelsRead.finally(() => labelTensor.dispose()).catch(() => {}); // a failure surfaces in batches()
  const numBatches = Math.ceil(n / o.batchSize);
  const orderOf = (epoch: number): Uint32Array => {
    if (!o.shuffle) return Uint32Array.from({ length: n }, (_, i) => i);
    return permutation(n, mixSeed(o.seed, 1, epoch));
  };
  return {
    count: n,
    numBatches,
    orderHash: (epoch) => orderHash(orderOf(epoch)).toString(16).padStart(8, '0'),
    async *batches(epoch, start) {
      const labels = await labelsRead;
      const order = orderOf(epoch);
      for (let b = start; b < numBatches; b++) {
        const idx = order.subarray(b * o.batchSize, Math.min(n, (b + 1) * o.batchSize));
        const batch = tf.tidy(() => {
          const i = tf.tensor1d(Int32Array.from(idx), 'int32');
          return {
            xs: tf.gather(xsAll, i),
            ys: tf.tensor1d(
              Int32Array.from(idx, (k) => labels[k]),
              'int32',
            ),
          };
        });
        yield { ...batch, size: idx.length };
      }
    },
  };
}

/**
 * A user's iterator factory: `(epoch) => AsyncIterable<{ xs, ys }>`. Order hashes are unknown; resuming in
 * the middle of an epoch skips (and disposes) the batches before the saved position.
 */
export function iteratorSource(
  factory: (
    epoch: number,
  ) => AsyncIterable<{ xs: tf.Tensor; ys: tf.Tensor }> | Iterable<{ xs: tf.Tensor; ys: tf.Tensor }>,
): BatchSource {
  return {
    count: null,
    numBatches: null,
    orderHash: () => null,
    async *batches(epoch, start) {
      let i = 0;
      for await (const { xs, ys } of factory(epoch) as AsyncIterable<{ xs: tf.Tensor; ys: tf.Tensor }>) {
        if (i++ < start) {
          tf.dispose([xs, ys]);
          continue;
        }
        const labels = tf.tidy(() =>
          ys.rank === 2 ? tf.argMax(ys, 1) : tf.cast(ys, 'int32'),
        ) as tf.Tensor1D;
        if (labels !== ys) ys.dispose();
        yield { xs, ys: labels, size: xs.shape[0] };
      }
    },
  };
}
