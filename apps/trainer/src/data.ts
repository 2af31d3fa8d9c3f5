/** Datasets for the CLI and the batch sources the training loop consumes. */
import { existsSync } from 'node:fs';
import {
  Batcher,
  batchToTensors,
  channelStats,
  DEBIAN_FASHION_MNIST_DIR,
  downloadCifar,
  type ImageDataset,
  loadCifar,
  loadEmbeddedFashionMnist,
  loadIdx,
  mixSeed,
  mulberry32,
  orderHash,
  syntheticDataset,
} from '@bmp/datasets';
import { type TrainSettings, UsageError } from './config';
import { DataError } from './errors';
import { loadImageFolder } from './folder-dataset';
import { tf } from './tf';

export interface LoadedData {
  train: ImageDataset;
  val: ImageDataset | null;
  test: ImageDataset;
  description: string;
}

const VAL_STREAM = 11;
const SUBSET_STREAM = 12;
const FOLDER_STREAM = 13;

function permutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** The images of `ds` at `indices`, in that order. */
export function subset(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const size = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const images = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i];
    images.set(ds.images.subarray(src * size, (src + 1) * size), i * size);
    labels[i] = ds.labels[src];
  }
  return { images, labels, count: indices.length, shape: ds.shape, classNames: ds.classNames };
}

/** Splits `valSplit` images off (seeded by dataSeed) and keeps at most `maxTrain` of the rest. */
export function splitTrain(
  train: ImageDataset,
  valSplit: number,
  maxTrain: number | null,
  dataSeed: number,
): { train: ImageDataset; val: ImageDataset | null } {
  let val: ImageDataset | null = null;
  if (valSplit > 0) {
    if (valSplit >= train.count) {
      throw new UsageError(`--val-split ${valSplit} leaves no training images (the set has ${train.count})`);
    }
    const order = permutation(train.count, mixSeed(dataSeed, VAL_STREAM));
    val = subset(train, order.subarray(0, valSplit));
    // keep the remaining training images in their original order
    train = subset(train, Uint32Array.from(order.subarray(valSplit)).sort());
  }
  if (maxTrain != null && maxTrain < train.count) {
    const order = permutation(train.count, mixSeed(dataSeed, SUBSET_STREAM));
    train = subset(train, Uint32Array.from(order.subarray(0, maxTrain)).sort());
  }
  return { train, val };
}

async function loadRaw(
  s: TrainSettings,
): Promise<{ train: ImageDataset; test: ImageDataset; description: string }> {
  switch (s.dataset) {
    case 'fashion-mnist-subset':
      return {
        train: await loadEmbeddedFashionMnist({ split: 'train' }),
        test: await loadEmbeddedFashionMnist({ split: 'test' }),
        description: 'embedded Fashion-MNIST subset (10,000 train / 2,000 test)',
      };
    case 'fashion-mnist':
    case 'mnist': {
      const dir = s.dataDir ?? (s.dataset === 'fashion-mnist' ? DEBIAN_FASHION_MNIST_DIR : null);
      if (dir == null || !existsSync(dir)) {
        throw new UsageError(
          `--dataset ${s.dataset}: no data directory (${dir ?? 'give --data-dir'}); put the IDX files there` +
            (s.dataset === 'fashion-mnist'
              ? ' (apt-get install dataset-fashion-mnist), or use --dataset fashion-mnist-subset (shipped)'
              : ''),
        );
      }
      return {
        train: await loadIdx({ dataset: s.dataset, dir, split: 'train' }),
        test: await loadIdx({ dataset: s.dataset, dir, split: 'test' }),
        description: `${s.dataset} from ${dir}`,
      };
    }
    case 'cifar10':
    case 'cifar100': {
      const dir = s.dataDir;
      if (dir == null)
        throw new UsageError(`--dataset ${s.dataset} needs --data-dir <dir> (with --download to fetch it)`);
      if (s.download) await downloadCifar({ variant: s.dataset, dir });
      else if (!existsSync(dir))
        throw new DataError(
          `--data-dir ${dir}: no such directory; put the ${s.dataset} archive (or its extracted folder) there, or add --download`,
        );
      const load = (split: 'train' | 'test') =>
        loadCifar({ variant: s.dataset as 'cifar10' | 'cifar100', dir, split }).catch((e: Error) => {
          // the library's advice is for library users: on the command line it is --download
          e.message = e.message.replace(/, or call downloadCifar\(.*$/, ', or add --download.');
          throw e;
        });
      return {
        train: await load('train'),
        test: await load('test'),
        description: `${s.dataset} from ${dir}`,
      };
    }
    case 'synthetic': {
      // one draw (one set of class prototypes), split into train and test
      const nTest = Math.max(1, Math.round(s.syntheticCount / 5));
      const all = syntheticDataset({
        count: s.syntheticCount + nTest,
        shape: s.imageShape,
        numClasses: s.numClasses,
        seed: s.dataSeed,
      });
      const idx = (from: number, to: number) => Uint32Array.from({ length: to - from }, (_, i) => from + i);
      return {
        train: subset(all, idx(0, s.syntheticCount)),
        test: subset(all, idx(s.syntheticCount, s.syntheticCount + nTest)),
        description: `synthetic ${s.syntheticCount} + ${nTest} images ${s.imageShape.join('x')}, ${s.numClasses} classes`,
      };
    }
    case 'folder': {
      const { train, test } = await loadImageFolder(s.dataDir!);
      if (test) return { train, test, description: `image folder ${s.dataDir} (train/ and test/)` };
      const nTest = Math.max(1, Math.round(train.count * s.folderTestFraction));
      const order = permutation(train.count, mixSeed(s.dataSeed, FOLDER_STREAM));
      return {
        train: subset(train, Uint32Array.from(order.subarray(nTest)).sort()),
        test: subset(train, Uint32Array.from(order.subarray(0, nTest)).sort()),
        description: `image folder ${s.dataDir} (${nTest} images held out as the test set)`,
      };
    }
  }
}

export async function loadData(s: TrainSettings): Promise<LoadedData> {
  const raw = await loadRaw(s);
  for (const [split, ds] of [
    ['training', raw.train],
    ['test', raw.test],
  ] as const)
    if (ds.count === 0) throw new DataError(`the ${split} set is empty: no images in ${raw.description}`);
  const { train, val } = splitTrain(raw.train, s.valSplit, s.maxTrainSamples, s.dataSeed);
  let test = raw.test;
  if (s.maxTestSamples != null && s.maxTestSamples < test.count) {
    test = subset(
      test,
      Uint32Array.from(
        permutation(test.count, mixSeed(s.dataSeed, SUBSET_STREAM + 1)).subarray(0, s.maxTestSamples),
      ).sort(),
    );
  }
  return { train, val, test, description: raw.description };
}

// ---------------------------------------------------------------------------------------------------
// Batch sources: what the training loop consumes.

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
  // labels kept on the CPU: the source holds no tensor of its own
  const labelTensor = tf.tidy(() => (ysAll.rank === 2 ? tf.argMax(ysAll, 1) : tf.cast(ysAll, 'int32')));
  const labels = Int32Array.from(labelTensor.dataSync());
  labelTensor.dispose();
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
