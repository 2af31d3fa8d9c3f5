import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, CIFAR100_COARSE_CLASSES, CIFAR100_FINE_CLASSES, loadCifar } from '../src';
import { encodeCifar, writeCifarArchive, writeCifarBinary, writeCifarDirectory } from '../src/testing';
import { randomBytes, randomLabels, tempDir } from './fixtures';

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

const PIXELS = 32 * 32 * 3;
let dir: string;
let cleanup: () => Promise<void>;

// Small splits: 23 training images (spread 4/5/4/5/5 over CIFAR-10's five batch files) and 7 test images.
const c10 = {
  train: { images: randomBytes(23 * PIXELS, 1), labels: randomLabels(23, 10, 2) },
  test: { images: randomBytes(7 * PIXELS, 3), labels: randomLabels(7, 10, 4) },
};
const c100 = {
  train: {
    images: randomBytes(11 * PIXELS, 5),
    labels: randomLabels(11, 100, 6),
    coarseLabels: randomLabels(11, 20, 7),
  },
  test: {
    images: randomBytes(4 * PIXELS, 8),
    labels: randomLabels(4, 100, 9),
    coarseLabels: randomLabels(4, 20, 10),
  },
};

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  // Official archives in their own directories.
  await writeCifarArchive(join(dir, 'a10', 'cifar-10-binary.tar.gz'), { variant: 'cifar10', ...c10 });
  await writeCifarArchive(join(dir, 'a100', 'cifar-100-binary.tar.gz'), { variant: 'cifar100', ...c100 });
  // Files directly in a directory, and inside the official extracted folder name.
  await writeCifarDirectory(join(dir, 'd10'), { variant: 'cifar10', ...c10 });
  await writeCifarDirectory(join(dir, 'e100', 'cifar-100-binary'), { variant: 'cifar100', ...c100 });
});
afterAll(() => cleanup());

describe('CIFAR binary decoding', () => {
  it('turns planar R, G, B records into NHWC pixels (checked by hand)', async () => {
    // One CIFAR-10 record: label 7, R plane = pixel index mod 256, G = 1, B = 2.
    const record = new Uint8Array(1 + PIXELS);
    record[0] = 7;
    for (let p = 0; p < 1024; p++) {
      record[1 + p] = p % 256;
      record[1 + 1024 + p] = 1;
      record[1 + 2048 + p] = 2;
    }
    const { writeFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'hand'), { recursive: true });
    await writeFile(join(dir, 'hand', 'test_batch.bin'), record);
    const ds = await loadCifar({ variant: 'cifar10', dir: join(dir, 'hand'), split: 'test' });
    expect(ds.count).toBe(1);
    expect(Array.from(ds.labels)).toEqual([7]);
    // Pixel (row 1, col 2) is plane index 34: NHWC offset (1 * 32 + 2) * 3.
    expect(Array.from(ds.images.subarray(34 * 3, 34 * 3 + 3))).toEqual([34, 1, 2]);
    expect(Array.from(ds.images.subarray(1023 * 3, 1023 * 3 + 3))).toEqual([1023 % 256, 1, 2]);
    // No names file there: the official names are used.
    expect(ds.classNames).toEqual(CIFAR10_CLASSES);
  });

  it('encodeCifar writes the byte layout of the format', () => {
    const images = new Uint8Array(PIXELS);
    images[0] = 10; // R of pixel 0
    images[1] = 20; // G of pixel 0
    images[5] = 30; // B of pixel 1
    const bytes = encodeCifar('cifar100', { images, labels: [42], coarseLabels: [3] });
    expect(bytes.length).toBe(2 + PIXELS);
    expect([bytes[0], bytes[1], bytes[2], bytes[2 + 1024], bytes[2 + 2048 + 1]]).toEqual([3, 42, 10, 20, 30]);
  });
});

describe('loadCifar', () => {
  it('CIFAR-10 from the .tar.gz: every split, images and labels round-trip', async () => {
    for (const split of ['train', 'test'] as const) {
      const ds = await loadCifar({ variant: 'cifar10', dir: join(dir, 'a10'), split });
      expect(ds.count).toBe(c10[split].labels.length);
      expect(ds.shape).toEqual([32, 32, 3]);
      expect(sameBytes(ds.images, c10[split].images)).toBe(true);
      expect(Array.from(ds.labels)).toEqual(c10[split].labels);
      expect(ds.classNames).toEqual(CIFAR10_CLASSES);
    }
  });

  it('CIFAR-10 from a directory of files, and from the archive path itself', async () => {
    const fromDir = await loadCifar({ variant: 'cifar10', dir: join(dir, 'd10'), split: 'train' });
    expect(sameBytes(fromDir.images, c10.train.images)).toBe(true);
    expect(Array.from(fromDir.labels)).toEqual(c10.train.labels);
    const fromPath = await loadCifar({
      variant: 'cifar10',
      dir: join(dir, 'a10', 'cifar-10-binary.tar.gz'),
      split: 'test',
    });
    expect(sameBytes(fromPath.images, c10.test.images)).toBe(true);
  });

  it('CIFAR-100 from the .tar.gz and the extracted folder, fine and coarse labels', async () => {
    for (const where of ['a100', 'e100']) {
      for (const split of ['train', 'test'] as const) {
        const fine = await loadCifar({ variant: 'cifar100', dir: join(dir, where), split });
        expect(sameBytes(fine.images, c100[split].images)).toBe(true);
        expect(Array.from(fine.labels)).toEqual(c100[split].labels);
        expect(fine.classNames).toEqual(CIFAR100_FINE_CLASSES);
        const coarse = await loadCifar({
          variant: 'cifar100',
          dir: join(dir, where),
          split,
          label: 'coarse',
        });
        expect(Array.from(coarse.labels)).toEqual(c100[split].coarseLabels);
        expect(coarse.classNames).toEqual(CIFAR100_COARSE_CLASSES);
        expect(sameBytes(coarse.images, fine.images)).toBe(true);
      }
    }
  });

  it('reads class names from the names files when present', async () => {
    const names = Array.from({ length: 10 }, (_, k) => `thing ${k}`);
    await writeCifarDirectory(join(dir, 'named'), { variant: 'cifar10', test: c10.test, classNames: names });
    const ds = await loadCifar({ variant: 'cifar10', dir: join(dir, 'named'), split: 'test' });
    expect(ds.classNames).toEqual(names);
  });

  it('the official name lists have 10, 100 and 20 entries', () => {
    expect([CIFAR10_CLASSES.length, CIFAR100_FINE_CLASSES.length, CIFAR100_COARSE_CLASSES.length]).toEqual([
      10, 100, 20,
    ]);
  });

  it('writeCifarBinary writes one file loadCifar reads', async () => {
    await writeCifarBinary(join(dir, 'one', 'test.bin'), 'cifar100', c100.test);
    const ds = await loadCifar({ variant: 'cifar100', dir: join(dir, 'one'), split: 'test' });
    expect(sameBytes(ds.images, c100.test.images)).toBe(true);
    // moving the folder away gives a clear "not found" error naming what was looked for
    await rename(join(dir, 'one'), join(dir, 'gone'));
    await expect(loadCifar({ variant: 'cifar100', dir: join(dir, 'one'), split: 'test' })).rejects.toThrow(
      /CIFAR-100 test data not found in .*one: looked for test\.bin there, in cifar-100-binary\/, and for cifar-100-binary\.tar\.gz/,
    );
  });
});
