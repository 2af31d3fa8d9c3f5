import { existsSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEBIAN_FASHION_MNIST_DIR,
  EMBEDDED_FASHION_MNIST_COUNTS,
  FASHION_MNIST_CLASSES,
  loadEmbeddedFashionMnist,
  loadIdx,
  MNIST_CLASSES,
} from '../src';
import { writeIdx } from '../src/testing';
import { randomBytes, randomLabels, tempDir } from './fixtures';

let dir: string;
let cleanup: () => Promise<void>;
const train = { images: randomBytes(13 * 784, 21), labels: randomLabels(13, 10, 22) };
const test = { images: randomBytes(5 * 784, 23), labels: randomLabels(5, 10, 24) };

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  // gzipped set
  await writeIdx(join(dir, 'gz', 'train-images-idx3-ubyte.gz'), train.images, [13, 28, 28]);
  await writeIdx(join(dir, 'gz', 'train-labels-idx1-ubyte.gz'), Uint8Array.from(train.labels), [13]);
  await writeIdx(join(dir, 'gz', 't10k-images-idx3-ubyte.gz'), test.images, [5, 28, 28]);
  await writeIdx(join(dir, 'gz', 't10k-labels-idx1-ubyte.gz'), Uint8Array.from(test.labels), [5]);
  // raw set (the dotted names of some mirrors for the images)
  await writeIdx(join(dir, 'raw', 'train-images.idx3-ubyte'), train.images, [13, 28, 28]);
  await writeIdx(join(dir, 'raw', 'train-labels-idx1-ubyte'), Uint8Array.from(train.labels), [13]);
});
afterAll(() => cleanup());

describe('loadIdx on generated files', () => {
  it('reads gzipped IDX files (both splits) with shape [28, 28, 1]', async () => {
    for (const [split, data] of [
      ['train', train],
      ['test', test],
    ] as const) {
      const ds = await loadIdx({ dir: join(dir, 'gz'), split, dataset: 'fashion-mnist' });
      expect(ds.shape).toEqual([28, 28, 1]);
      expect(ds.count).toBe(data.labels.length);
      expect(Buffer.from(ds.images).equals(Buffer.from(data.images))).toBe(true);
      expect(Array.from(ds.labels)).toEqual(data.labels);
      expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    }
  });

  it('reads raw IDX files, and names MNIST classes 0-9', async () => {
    const ds = await loadIdx({ dir: join(dir, 'raw'), split: 'train', dataset: 'mnist' });
    expect(Buffer.from(ds.images).equals(Buffer.from(train.images))).toBe(true);
    expect(Array.from(ds.labels)).toEqual(train.labels);
    expect(ds.classNames).toEqual(MNIST_CLASSES);
  });

  it('a gzipped file without the .gz suffix is still recognised by its magic bytes', async () => {
    await copyFile(join(dir, 'gz', 't10k-images-idx3-ubyte.gz'), join(dir, 'raw', 't10k-images-idx3-ubyte'));
    await copyFile(join(dir, 'gz', 't10k-labels-idx1-ubyte.gz'), join(dir, 'raw', 't10k-labels-idx1-ubyte'));
    const ds = await loadIdx({ dir: join(dir, 'raw'), split: 'test', dataset: 'mnist' });
    expect(Array.from(ds.labels)).toEqual(test.labels);
  });
});

const debianPresent = existsSync(join(DEBIAN_FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));
// BMP_REQUIRE_DATASETS=1 (set by .ci/run where it installed the files) turns the skip into a failure.
const datasetsRequired = process.env.BMP_REQUIRE_DATASETS === '1';
if (!debianPresent) {
  console.warn(
    `NOTICE: ${DEBIAN_FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist); ` +
      (datasetsRequired
        ? 'FAILING the tests on the installed Fashion-MNIST files (BMP_REQUIRE_DATASETS=1).'
        : 'skipping the tests on the installed Fashion-MNIST files (BMP_REQUIRE_DATASETS=1 makes this a failure).'),
  );
}

const describeInstalled = debianPresent || datasetsRequired ? describe : describe.skip;

describeInstalled('installed Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  it('loads the official 60,000 + 10,000 images with balanced classes', async () => {
    const tr = await loadIdx({ split: 'train', dataset: 'fashion-mnist' }); // default dir: Debian's
    const te = await loadIdx({ dir: DEBIAN_FASHION_MNIST_DIR, split: 'test', dataset: 'fashion-mnist' });
    expect([tr.count, te.count]).toEqual([60000, 10000]);
    expect(tr.shape).toEqual([28, 28, 1]);
    const perClass = new Array(10).fill(0);
    for (const l of tr.labels) perClass[l]++;
    expect(perClass).toEqual(new Array(10).fill(6000));
  });

  it('the embedded subset is the first 1000/200 images per class of the official files, in order', async () => {
    for (const split of ['train', 'test'] as const) {
      const official = await loadIdx({ split, dataset: 'fashion-mnist' });
      const subset = await loadEmbeddedFashionMnist({ split });
      const perClass = split === 'train' ? 1000 : 200;
      const taken = new Array(10).fill(0);
      let j = 0;
      for (let i = 0; i < official.count && j < subset.count; i++) {
        const l = official.labels[i];
        if (taken[l] >= perClass) continue;
        taken[l]++;
        expect(subset.labels[j]).toBe(l);
        const a = Buffer.from(official.images.subarray(i * 784, (i + 1) * 784));
        const b = Buffer.from(subset.images.subarray(j * 784, (j + 1) * 784));
        if (!a.equals(b)) throw new Error(`${split}: subset image ${j} differs from official image ${i}`);
        j++;
      }
      expect(j).toBe(subset.count);
    }
  });
});

describe('embedded Fashion-MNIST subset', () => {
  it('has 10,000 + 2,000 class-balanced 28x28x1 images', async () => {
    for (const split of ['train', 'test'] as const) {
      const ds = await loadEmbeddedFashionMnist({ split });
      expect(ds.count).toBe(EMBEDDED_FASHION_MNIST_COUNTS[split]);
      expect(ds.shape).toEqual([28, 28, 1]);
      expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
      const perClass = new Array(10).fill(0);
      for (const l of ds.labels) perClass[l]++;
      expect(perClass).toEqual(new Array(10).fill(ds.count / 10));
    }
  });
});
