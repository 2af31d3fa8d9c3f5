import { mulberry32Advance, mulberry32Output } from '@bmp/random';
import { type AugmentOptions, augmentImage, checkAugmentOptions } from './augment.js';
import { type ImageDataset, validateDataset } from './dataset.js';
import { batchHash, orderHash } from './hash.js';
import { type ChannelStats, normalizationCoefficients } from './normalize.js';
import { checkSeed, mixSeed, mulberry32, shuffleInPlace } from './random.js';

/** Random streams derived from the seed; each is independent of the others. */
const SHUFFLE_STREAM = 1;
const AUGMENT_STREAM = 2;

export interface BatcherOptions {
  dataset: ImageDataset;
  batchSize: number;
  /** Seeds the shuffle and the augmentation (any integer). */
  seed: number;
  /** Shuffle every epoch (default true); otherwise dataset order. */
  shuffle?: boolean;
  /** Random augmentation (default none). */
  augment?: AugmentOptions;
  /**
   * Per-channel mean/std in [0, 1] units (e.g. `channelStats(train)`); values are
   * (pixel / 255 - mean) / std. Without it values are pixel / 255.
   */
  normalize?: ChannelStats;
  /** Drop the last, smaller batch of an epoch (default false). */
  dropLast?: boolean;
}

/**
 * One batch. `x` and `y` are views of buffers that the batcher reuses: the next batch overwrites them, so
 * consume (or copy, e.g. with `batchToTensors`) a batch before asking for the next.
 */
export interface Batch {
  /** `size * height * width * channels` float32 values, NHWC. */
  x: Float32Array;
  /** `size` labels. */
  y: Int32Array;
  size: number;
  /** `[size, height, width, channels]`. */
  shape: [number, number, number, number];
  epoch: number;
  /** Index of this batch within its epoch. */
  index: number;
  /** Dataset indices of this batch's images (a view of the epoch order). */
  indices: Uint32Array;
}

/**
 * Produces shuffled, augmented, normalised batches in bounded memory: one batch buffer, two image scratch
 * buffers and one epoch order are allocated once and reused. Everything random is derived from
 * (seed, epoch) for the order and (seed, epoch, image index) for augmentation, so a batch's contents
 * depend only on those: the same seed gives identical bytes whatever else runs in the process, and
 * iteration can resume at any batch of an epoch.
 */
export class Batcher {
  readonly dataset: ImageDataset;
  readonly batchSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly augment: AugmentOptions | undefined;
  readonly dropLast: boolean;
  /** Batches per epoch. */
  readonly numBatches: number;

  private readonly imageSize: number;
  private readonly scale: Float32Array;
  private readonly shift: Float32Array;
  private readonly xBuffer: Float32Array;
  private readonly yBuffer: Int32Array;
  private readonly scratchA: Float32Array;
  private readonly scratchB: Float32Array;
  private readonly order: Uint32Array;
  private orderEpoch = -1;
  private rngState = 0;
  private readonly rand: () => number;

  constructor(options: BatcherOptions) {
    const { dataset, batchSize } = options;
    validateDataset(dataset);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.seed = checkSeed(options.seed);
    this.shuffle = options.shuffle ?? true;
    this.augment = options.augment;
    if (this.augment) checkAugmentOptions(this.augment, dataset.shape);
    this.dropLast = options.dropLast ?? false;
    this.numBatches = this.dropLast
      ? Math.floor(dataset.count / batchSize)
      : Math.ceil(dataset.count / batchSize);
    const [h, w, c] = dataset.shape;
    this.imageSize = h * w * c;
    const coeffs = normalizationCoefficients(options.normalize, c);
    this.scale = coeffs.scale;
    this.shift = coeffs.shift;
    this.xBuffer = new Float32Array(batchSize * this.imageSize);
    this.yBuffer = new Int32Array(batchSize);
    this.scratchA = new Float32Array(this.imageSize);
    this.scratchB = new Float32Array(this.imageSize);
    this.order = new Uint32Array(dataset.count);
    // Mulberry32 with a state we can reseed without allocating a closure per image.
    this.rand = () => {
      this.rngState = mulberry32Advance(this.rngState);
      return mulberry32Output(this.rngState);
    };
  }

  /**
   * The order in which `epoch` visits the dataset (a reused internal buffer: copy it to keep it).
   */
  epochOrder(epoch: number): Uint32Array {
    checkEpoch(epoch);
    if (this.orderEpoch !== epoch) {
      for (let i = 0; i < this.order.length; i++) this.order[i] = i;
      if (this.shuffle) shuffleInPlace(this.order, mulberry32(mixSeed(this.seed, SHUFFLE_STREAM, epoch)));
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** FNV-1a hash of `epoch`'s order (see `orderHash`). */
  orderHash(epoch: number): number {
    return orderHash(this.epochOrder(epoch));
  }

  /** Builds batch `index` of `epoch` into the shared buffers. */
  batch(epoch: number, index: number): Batch {
    if (!Number.isInteger(index) || index < 0 || index >= this.numBatches) {
      throw new RangeError(`batch index ${index} is outside [0, ${this.numBatches})`);
    }
    const order = this.epochOrder(epoch);
    const start = index * this.batchSize;
    const size = Math.min(this.batchSize, this.dataset.count - start);
    const { images, labels, shape } = this.dataset;
    const n = this.imageSize;
    const c = shape[2];
    const { scale, shift, xBuffer, yBuffer } = this;
    for (let b = 0; b < size; b++) {
      const src = order[start + b];
      yBuffer[b] = labels[src];
      const dst = b * n;
      let pixels: ArrayLike<number>;
      let base: number;
      if (this.augment) {
        const a = this.scratchA;
        for (let i = 0; i < n; i++) a[i] = images[src * n + i];
        this.rngState = mixSeed(this.seed, AUGMENT_STREAM, epoch, src);
        pixels = augmentImage(a, this.scratchB, shape, this.augment, this.rand);
        base = 0;
      } else {
        pixels = images;
        base = src * n;
      }
      for (let i = 0; i < n; i += c) {
        for (let k = 0; k < c; k++) xBuffer[dst + i + k] = pixels[base + i + k] * scale[k] - shift[k];
      }
    }
    const full = size === this.batchSize;
    return {
      x: full ? xBuffer : xBuffer.subarray(0, size * n),
      y: full ? yBuffer : yBuffer.subarray(0, size),
      size,
      shape: [size, shape[0], shape[1], shape[2]],
      epoch,
      index,
      indices: order.subarray(start, start + size),
    };
  }

  /** The batches of `epoch`, starting at batch `startBatch` (to resume an interrupted epoch). */
  *epoch(epoch: number, startBatch = 0): Generator<Batch, void, undefined> {
    checkEpoch(epoch);
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > this.numBatches) {
      throw new RangeError(`startBatch ${startBatch} is outside [0, ${this.numBatches}]`);
    }
    for (let i = startBatch; i < this.numBatches; i++) yield this.batch(epoch, i);
  }
}

function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0)
    throw new RangeError(`epoch must be an integer >= 0, got ${epoch}`);
}

/** Options of `batches`: a batcher's options plus the epoch and the batch to start at. */
export interface BatchesOptions extends BatcherOptions {
  epoch?: number;
  startBatch?: number;
}

/** The batches of one epoch (default 0) from `startBatch` (default 0); see `Batcher`. */
export function batches(options: BatchesOptions): Generator<Batch, void, undefined> {
  return new Batcher(options).epoch(options.epoch ?? 0, options.startBatch ?? 0);
}

export { batchHash };
