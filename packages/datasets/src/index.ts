export {
  type AugmentOptions,
  augmentImage,
  cropWithPadding,
  flipHorizontal,
  rotate,
  type Shape3,
} from './augment.js';
export { type Batch, Batcher, type BatcherOptions, type BatchesOptions, batches } from './batcher.js';
export { type LoadCifarOptions, loadCifar, type Split } from './cifar.js';
export {
  CIFAR_LAYOUTS,
  CIFAR_PIXELS,
  type CifarLayout,
  type CifarSplitData,
  type CifarVariant,
  decodeCifarRecords,
} from './cifar-format.js';
export {
  CIFAR10_CLASSES,
  CIFAR100_COARSE_CLASSES,
  CIFAR100_FINE_CLASSES,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
} from './class-names.js';
export { type ImageDataset, validateDataset } from './dataset.js';
export { CIFAR_DOWNLOADS, type DownloadCifarOptions, DownloadError, downloadCifar } from './download.js';
export {
  EMBEDDED_FASHION_MNIST_COUNTS,
  embeddedFashionMnistDir,
  loadEmbeddedFashionMnist,
} from './embedded.js';
export { DatasetError } from './errors.js';
export { batchHash, fnv1a, orderHash } from './hash.js';
export { decodeIdx, type IdxArray } from './idx.js';
export { DEBIAN_FASHION_MNIST_DIR, type IdxDataset, type LoadIdxOptions, loadIdx } from './mnist.js';
export { type ChannelStats, channelStats } from './normalize.js';
export { type SyntheticOptions, syntheticDataset } from './synthetic.js';
export { type BatchTensors, batchToTensors } from './tensors.js';
