/** An in-memory labelled image dataset: what every loader in this package returns. */
export interface ImageDataset {
  /** `count * height * width * channels` bytes, NHWC (row-major, channels last). */
  images: Uint8Array;
  /** One label per image, each in `[0, classNames.length)`. */
  labels: Int32Array;
  count: number;
  /** `[height, width, channels]` of one image. */
  shape: [number, number, number];
  classNames: string[];
}

/** Throws if the arrays of `dataset` disagree with its count, shape or class names. */
export function validateDataset(dataset: ImageDataset, what = 'dataset'): void {
  const { images, labels, count, shape, classNames } = dataset;
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`${what}: count must be >= 0, got ${count}`);
  if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`${what}: shape must be [height, width, channels] of positive integers`);
  }
  const size = shape[0] * shape[1] * shape[2];
  if (images.length !== count * size) {
    throw new RangeError(`${what}: images has ${images.length} bytes, expected ${count} x ${size}`);
  }
  if (labels.length !== count) throw new RangeError(`${what}: ${labels.length} labels for ${count} images`);
  for (let i = 0; i < count; i++) {
    if (labels[i] < 0 || labels[i] >= classNames.length) {
      throw new RangeError(`${what}: label ${labels[i]} of image ${i} is outside [0, ${classNames.length})`);
    }
  }
}

/** Number of bytes of one image. */
export function imageSize(shape: readonly [number, number, number]): number {
  return shape[0] * shape[1] * shape[2];
}
