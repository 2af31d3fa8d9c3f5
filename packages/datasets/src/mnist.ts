import { join } from 'node:path';
import type { Split } from './cifar.js';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES } from './class-names.js';
import type { ImageDataset } from './dataset.js';
import { DatasetError } from './errors.js';
import { exists, readMaybeGzip } from './files.js';
import { decodeIdx } from './idx.js';

export type IdxDataset = 'mnist' | 'fashion-mnist';

/** Where Debian's `dataset-fashion-mnist` package installs the official files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface LoadIdxOptions {
  /** Directory holding the IDX files (gzipped or raw). Default for fashion-mnist: Debian's location. */
  dir?: string;
  split: Split;
  dataset: IdxDataset;
}

/** Official file names of a split (without `.gz`). */
export function idxFileNames(split: Split): { images: string; labels: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  return { images: `${prefix}-images-idx3-ubyte`, labels: `${prefix}-labels-idx1-ubyte` };
}

/** Finds `name`, `name.gz`, or the dotted variant some mirrors use (`train-images.idx3-ubyte`). */
export async function findIdxFile(dir: string, name: string): Promise<string> {
  const dotted = name.replace(/-(idx\d)/, '.$1');
  const candidates = [name, `${name}.gz`, dotted, `${dotted}.gz`].map((n) => join(dir, n));
  for (const c of candidates) if (await exists(c)) return c;
  throw new DatasetError(`missing IDX file: looked for ${name} and ${name}.gz in ${dir}`, {
    file: join(dir, `${name}.gz`),
  });
}

/** Decodes an images file and a labels file (IDX bytes) into a dataset, checking them against each other. */
export function decodeIdxPair(
  imageBytes: Uint8Array,
  imageFile: string,
  labelBytes: Uint8Array,
  labelFile: string,
  classNames: readonly string[],
): ImageDataset {
  const img = decodeIdx(imageBytes, imageFile, 3);
  const lab = decodeIdx(labelBytes, labelFile, 1);
  const [count, rows, cols] = img.dims;
  if (lab.dims[0] !== count) {
    throw new DatasetError(
      `count mismatch: ${lab.dims[0]} labels in ${labelFile} for ${count} images in ${imageFile}`,
      { file: labelFile },
    );
  }
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = lab.data[i];
    if (v >= classNames.length) {
      throw new DatasetError(`label ${v} is out of range [0, ${classNames.length})`, {
        file: labelFile,
        record: i,
      });
    }
    labels[i] = v;
  }
  // Copy so the result does not keep the whole file buffer (header included) alive.
  const images = new Uint8Array(img.data);
  return { images, labels, count, shape: [rows, cols, 1], classNames: [...classNames] };
}

/** Loads one split of MNIST or Fashion-MNIST from IDX files (gzipped or raw). Images are [28, 28, 1]. */
export async function loadIdx(options: LoadIdxOptions): Promise<ImageDataset> {
  const { split, dataset } = options;
  if (dataset !== 'mnist' && dataset !== 'fashion-mnist') {
    throw new RangeError(`loadIdx: unknown dataset ${String(dataset)}`);
  }
  if (split !== 'train' && split !== 'test') throw new RangeError(`loadIdx: unknown split ${String(split)}`);
  const dir = options.dir ?? (dataset === 'fashion-mnist' ? DEBIAN_FASHION_MNIST_DIR : undefined);
  if (dir === undefined) throw new RangeError('loadIdx: dir is required for mnist');
  const names = idxFileNames(split);
  const imageFile = await findIdxFile(dir, names.images);
  const labelFile = await findIdxFile(dir, names.labels);
  const classes = dataset === 'mnist' ? MNIST_CLASSES : FASHION_MNIST_CLASSES;
  return decodeIdxPair(
    await readMaybeGzip(imageFile),
    imageFile,
    await readMaybeGzip(labelFile),
    labelFile,
    classes,
  );
}
