import { DatasetError } from './errors.js';

/**
 * The CIFAR binary format: fixed-size records, each `labelBytes` label bytes (CIFAR-10: the label;
 * CIFAR-100: coarse then fine) followed by 3072 pixel bytes, the R, G and B planes in turn, each 32x32
 * row-major. Decoded images are NHWC (channels last), as tfjs expects.
 */

export type CifarVariant = 'cifar10' | 'cifar100';

export const CIFAR_SIDE = 32;
export const CIFAR_CHANNELS = 3;
export const CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS;

export interface CifarLayout {
  /** Label bytes per record (1 for CIFAR-10, 2 for CIFAR-100). */
  labelBytes: number;
  recordSize: number;
  /** Folder inside the official archive. */
  folder: string;
  /** File name of the official archive. */
  archive: string;
  /** Official data files per split, in order. */
  files: { train: string[]; test: string[] };
  /** Most records any one official data file holds (more means the file is not a CIFAR file). */
  maxRecords: { train: number; test: number };
}

export const CIFAR_LAYOUTS: Record<CifarVariant, CifarLayout> = {
  cifar10: {
    labelBytes: 1,
    recordSize: 1 + CIFAR_PIXELS,
    folder: 'cifar-10-batches-bin',
    archive: 'cifar-10-binary.tar.gz',
    files: {
      train: [
        'data_batch_1.bin',
        'data_batch_2.bin',
        'data_batch_3.bin',
        'data_batch_4.bin',
        'data_batch_5.bin',
      ],
      test: ['test_batch.bin'],
    },
    maxRecords: { train: 10000, test: 10000 },
  },
  cifar100: {
    labelBytes: 2,
    recordSize: 2 + CIFAR_PIXELS,
    folder: 'cifar-100-binary',
    archive: 'cifar-100-binary.tar.gz',
    files: { train: ['train.bin'], test: ['test.bin'] },
    maxRecords: { train: 50000, test: 10000 },
  },
};

/** Label names files of each variant, by label kind. */
export const CIFAR_NAMES_FILES = {
  cifar10: { fine: 'batches.meta.txt', coarse: 'batches.meta.txt' },
  cifar100: { fine: 'fine_label_names.txt', coarse: 'coarse_label_names.txt' },
} as const;

/**
 * Number of records in `bytes`, after checking that it is a whole, non-zero number of records and at most
 * `maxRecords`. `file` is used in error messages. An empty file is an error: every official data file
 * holds records, and skipping one would silently shrink the split (or leave it with no images at all).
 */
export function countCifarRecords(
  variant: CifarVariant,
  byteLength: number,
  file: string,
  maxRecords: number,
): number {
  const { recordSize } = CIFAR_LAYOUTS[variant];
  if (byteLength === 0) {
    throw new DatasetError(
      `empty file: 0 bytes, expected ${recordSize}-byte ${variant} records (re-extract or re-download it)`,
      { file },
    );
  }
  if (byteLength % recordSize !== 0) {
    const complete = Math.floor(byteLength / recordSize);
    throw new DatasetError(
      `truncated or not a ${variant} binary file: ${byteLength} bytes is not a multiple of the ` +
        `${recordSize}-byte record size; the last record is incomplete`,
      { file, record: complete },
    );
  }
  const count = byteLength / recordSize;
  if (count > maxRecords) {
    throw new DatasetError(
      `oversized: ${count} records, but an official ${variant} file holds at most ${maxRecords}`,
      { file },
    );
  }
  return count;
}

/**
 * Decodes `count` records of `bytes` into `images` (NHWC, starting at image `offset`) and `labels`.
 * `labelIndex` picks the label byte (CIFAR-100: 0 coarse, 1 fine); labels must be below `numClasses`.
 */
export function decodeCifarRecords(
  variant: CifarVariant,
  bytes: Uint8Array,
  file: string,
  labelIndex: number,
  numClasses: number,
  images: Uint8Array,
  labels: Int32Array,
  offset: number,
): number {
  const { recordSize, labelBytes } = CIFAR_LAYOUTS[variant];
  const count = bytes.length / recordSize;
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  for (let r = 0; r < count; r++) {
    const rec = r * recordSize;
    const label = bytes[rec + labelIndex];
    if (label >= numClasses) {
      throw new DatasetError(`label ${label} is out of range [0, ${numClasses})`, { file, record: r });
    }
    labels[offset + r] = label;
    const src = rec + labelBytes;
    const dst = (offset + r) * CIFAR_PIXELS;
    for (let p = 0; p < plane; p++) {
      const o = dst + p * 3;
      images[o] = bytes[src + p];
      images[o + 1] = bytes[src + plane + p];
      images[o + 2] = bytes[src + 2 * plane + p];
    }
  }
  return count;
}

/** Images and labels of one split, as the writers take them. */
export interface CifarSplitData {
  /** `count * 32 * 32 * 3` bytes, NHWC. */
  images: Uint8Array;
  /** CIFAR-10 labels, or CIFAR-100 fine labels. */
  labels: ArrayLike<number>;
  /** CIFAR-100 only: coarse labels (default: fine label mod 20, which is not the official mapping). */
  coarseLabels?: ArrayLike<number>;
}

/** Encodes images (NHWC) and labels as CIFAR binary records (planar RGB). */
export function encodeCifar(variant: CifarVariant, data: CifarSplitData): Uint8Array {
  const { recordSize, labelBytes } = CIFAR_LAYOUTS[variant];
  const count = data.labels.length;
  if (data.images.length !== count * CIFAR_PIXELS) {
    throw new RangeError(`encodeCifar: ${data.images.length} image bytes for ${count} labels`);
  }
  const out = new Uint8Array(count * recordSize);
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  for (let r = 0; r < count; r++) {
    const rec = r * recordSize;
    const fine = data.labels[r];
    if (variant === 'cifar100') {
      out[rec] = data.coarseLabels ? data.coarseLabels[r] : fine % 20;
      out[rec + 1] = fine;
    } else {
      out[rec] = fine;
    }
    const src = r * CIFAR_PIXELS;
    const dst = rec + labelBytes;
    for (let p = 0; p < plane; p++) {
      out[dst + p] = data.images[src + p * 3];
      out[dst + plane + p] = data.images[src + p * 3 + 1];
      out[dst + 2 * plane + p] = data.images[src + p * 3 + 2];
    }
  }
  return out;
}
