import { fileURLToPath } from 'node:url';
import type { Split } from './cifar.js';
import type { ImageDataset } from './dataset.js';
import { loadIdx } from './mnist.js';

/** Images per split in the embedded subset (class-balanced: a tenth of each per class). */
export const EMBEDDED_FASHION_MNIST_COUNTS = { train: 10000, test: 2000 } as const;

/**
 * Directory of the embedded Fashion-MNIST subset. Resolved relative to this module, which is
 * `dist/index.{js,cjs}` in the published package (and `src/embedded.ts` in tests): both sit one level
 * below the package root, beside `data/`.
 */
export function embeddedFashionMnistDir(): string {
  return fileURLToPath(new URL('../data/fashion-mnist-subset/', import.meta.url));
}

/**
 * Loads the Fashion-MNIST subset shipped with this package: 10,000 training and 2,000 test images
 * (28x28x1), class-balanced, taken from the official files (MIT licence, Zalando SE).
 */
export async function loadEmbeddedFashionMnist(options: { split: Split }): Promise<ImageDataset> {
  return loadIdx({ dir: embeddedFashionMnistDir(), split: options.split, dataset: 'fashion-mnist' });
}
