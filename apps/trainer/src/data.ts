/** The data sets of the CLI: loading, the validation hold-out, seeded subsets. */
import { existsSync } from 'node:fs';
import {
  DEBIAN_FASHION_MNIST_DIR,
  downloadCifar,
  type ImageDataset,
  loadCifar,
  loadEmbeddedFashionMnist,
  loadIdx,
  syntheticDataset,
} from '@bmp/datasets';
import { mixSeed } from '@bmp/random';
import { type TrainSettings, UsageError } from './config';
import { DataError } from './errors';
import { loadImageFolder } from './folder-dataset';
import { permutation } from './permutation';

export interface LoadedData {
  train: ImageDataset;
  val: ImageDataset | null;
  test: ImageDataset;
  description: string;
}

const VAL_STREAM = 11;
const SUBSET_STREAM = 12;
const FOLDER_STREAM = 13;

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

export {
  type BatchSource,
  type ImageSourceOptions,
  imageDatasetSource,
  iteratorSource,
  normalizationOf,
  type TensorBatch,
  tensorSource,
} from './batch-sources';
