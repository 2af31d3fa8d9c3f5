import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, decodeIdx, loadCifar, loadIdx } from '../src';
import { writeTarGz } from '../src/tar-gz';
import { encodeCifar, encodeIdx, writeCifarArchive, writeCifarDirectory, writeIdx } from '../src/testing';
import { randomBytes, randomLabels, tempDir } from './fixtures';

const PIXELS = 3072;
let root: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(() => cleanup());

/** Expects a DatasetError whose message matches every pattern and whose `file`/`record` are as given. */
async function expectDatasetError(
  promise: Promise<unknown>,
  patterns: RegExp[],
  where: { file?: string | RegExp; record?: number } = {},
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  const e = error as DatasetError;
  for (const p of patterns) expect(e.message).toMatch(p);
  if (typeof where.file === 'string') expect(e.file).toBe(where.file);
  else if (where.file) expect(e.file).toMatch(where.file);
  if (where.record !== undefined) {
    expect(e.record).toBe(where.record);
    expect(e.message).toContain(`(record ${where.record})`);
  }
}

async function cifar10Dir(name: string, count = 3): Promise<string> {
  const dir = join(root, name);
  await writeCifarDirectory(dir, {
    variant: 'cifar10',
    test: { images: randomBytes(count * PIXELS, 1), labels: randomLabels(count, 10, 2) },
  });
  return dir;
}

describe('bad CIFAR input', () => {
  it('truncated file: names the file and the incomplete record', async () => {
    const dir = await cifar10Dir('trunc');
    const file = join(dir, 'test_batch.bin');
    await truncate(file, 2 * 3073 + 100);
    await expectDatasetError(
      loadCifar({ variant: 'cifar10', dir, split: 'test' }),
      [/test_batch\.bin/, /not a multiple of the 3073-byte record size/],
      { file, record: 2 },
    );
  });

  it('CIFAR-100 record size (3074) is enforced: a CIFAR-10 file is rejected', async () => {
    const dir = join(root, 'wrongvariant');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'test.bin'),
      encodeCifar('cifar10', { images: randomBytes(5 * PIXELS, 3), labels: [1, 2, 3, 4, 5] }),
    );
    await expectDatasetError(
      loadCifar({ variant: 'cifar100', dir, split: 'test' }),
      [/3074-byte record size/],
      {
        file: join(dir, 'test.bin'),
      },
    );
  });

  it('oversized file: more records than an official file holds', async () => {
    const dir = join(root, 'big');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'test_batch.bin');
    await writeFile(file, new Uint8Array(10001 * 3073)); // zero labels, zero pixels
    await expectDatasetError(
      loadCifar({ variant: 'cifar10', dir, split: 'test' }),
      [/oversized: 10001 records/],
      {
        file,
      },
    );
  });

  it('label out of range: names the file and the record', async () => {
    const dir = await cifar10Dir('label', 4);
    const file = join(dir, 'test_batch.bin');
    const bytes = await readFile(file);
    bytes[2 * 3073] = 10; // record 2's label
    await writeFile(file, bytes);
    await expectDatasetError(
      loadCifar({ variant: 'cifar10', dir, split: 'test' }),
      [/label 10 is out of range \[0, 10\)/],
      {
        file,
        record: 2,
      },
    );
  });

  it('CIFAR-100 coarse label out of range (>= 20)', async () => {
    const dir = join(root, 'coarse');
    await mkdir(dir, { recursive: true });
    const bytes = encodeCifar('cifar100', {
      images: randomBytes(2 * PIXELS, 4),
      labels: [5, 6],
      coarseLabels: [1, 25],
    });
    await writeFile(join(dir, 'test.bin'), bytes);
    await expect(loadCifar({ variant: 'cifar100', dir, split: 'test' })).resolves.toMatchObject({ count: 2 });
    await expectDatasetError(
      loadCifar({ variant: 'cifar100', dir, split: 'test', label: 'coarse' }),
      [/label 25 is out of range \[0, 20\)/],
      { file: join(dir, 'test.bin'), record: 1 },
    );
  });

  it('missing batch file in a directory is named', async () => {
    const dir = join(root, 'missing');
    await writeCifarDirectory(dir, {
      variant: 'cifar10',
      train: { images: randomBytes(5 * PIXELS, 5), labels: randomLabels(5, 10, 6) },
    });
    await rm(join(dir, 'data_batch_3.bin'));
    await expectDatasetError(
      loadCifar({ variant: 'cifar10', dir, split: 'train' }),
      [/missing CIFAR-10 file/],
      {
        file: join(dir, 'data_batch_3.bin'),
      },
    );
  });

  it('missing member of an archive is named', async () => {
    const archive = join(root, 'partial', 'cifar-10-binary.tar.gz');
    await mkdir(join(root, 'partial'), { recursive: true });
    const batch = encodeCifar('cifar10', { images: randomBytes(PIXELS, 7), labels: [3] });
    await writeTarGz(archive, [['cifar-10-batches-bin/data_batch_1.bin', batch]]);
    await expectDatasetError(
      loadCifar({ variant: 'cifar10', dir: join(root, 'partial'), split: 'train' }),
      [/missing CIFAR-10 file in archive/, /data_batch_2\.bin/],
      { file: /cifar-10-binary\.tar\.gz:cifar-10-batches-bin\/data_batch_2\.bin$/ },
    );
  });

  it('corrupt (truncated) archive is named', async () => {
    const dir = join(root, 'corrupt');
    const archive = join(dir, 'cifar-100-binary.tar.gz');
    await writeCifarArchive(archive, {
      variant: 'cifar100',
      test: { images: randomBytes(20 * PIXELS, 8), labels: randomLabels(20, 100, 9) },
    });
    const bytes = await readFile(archive);
    await writeFile(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectDatasetError(
      loadCifar({ variant: 'cifar100', dir, split: 'test' }),
      [/cannot read archive/],
      {
        file: archive,
      },
    );
  });

  it('a names file with the wrong number of names is named', async () => {
    const dir = await cifar10Dir('names');
    await writeFile(join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    await expectDatasetError(
      loadCifar({ variant: 'cifar10', dir, split: 'test' }),
      [/expected 10 class names, found 2/],
      {
        file: join(dir, 'batches.meta.txt'),
      },
    );
  });

  it('an empty (0-byte) batch file in a directory is named, not skipped', async () => {
    const dir = join(root, 'emptybatch');
    await writeCifarDirectory(dir, {
      variant: 'cifar10',
      train: { images: randomBytes(10 * PIXELS, 12), labels: randomLabels(10, 10, 13) },
    });
    const file = join(dir, 'data_batch_3.bin');
    await writeFile(file, new Uint8Array(0));
    await expectDatasetError(
      loadCifar({ variant: 'cifar10', dir, split: 'train' }),
      [/data_batch_3\.bin: empty file: 0 bytes, expected 3073-byte cifar10 records/],
      { file },
    );
  });

  it('an empty (0-byte) member of an archive is named', async () => {
    const dir = join(root, 'emptymember');
    await mkdir(dir, { recursive: true });
    const archive = join(dir, 'cifar-10-binary.tar.gz');
    const batch = encodeCifar('cifar10', { images: randomBytes(PIXELS, 14), labels: [3] });
    await writeTarGz(
      archive,
      [1, 2, 3, 4, 5].map((k) => [
        `cifar-10-batches-bin/data_batch_${k}.bin`,
        k === 4 ? new Uint8Array(0) : batch,
      ]),
    );
    await expectDatasetError(
      loadCifar({ variant: 'cifar10', dir, split: 'train' }),
      [/data_batch_4\.bin: empty file: 0 bytes/],
      { file: `${archive}:cifar-10-batches-bin/data_batch_4.bin` },
    );
  });

  it('an empty split (the only training file is empty) is refused, not a dataset with count 0', async () => {
    const dir = join(root, 'emptysplit');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'train.bin');
    await writeFile(file, new Uint8Array(0));
    await expectDatasetError(
      loadCifar({ variant: 'cifar100', dir, split: 'train' }),
      [/train\.bin: empty file: 0 bytes, expected 3074-byte cifar100 records/],
      { file },
    );
  });

  it('nothing there at all: says what was looked for and how to get it', async () => {
    await expect(
      loadCifar({ variant: 'cifar10', dir: join(root, 'nowhere'), split: 'train' }),
    ).rejects.toThrow(
      /data_batch_1\.bin \.\. data_batch_5\.bin .*cifar-10-batches-bin\/.*cifar-10-binary\.tar\.gz.*downloadCifar/,
    );
  });
});

describe('bad IDX input', () => {
  const imgs = randomBytes(4 * 784, 11);
  async function idxDir(name: string): Promise<string> {
    const dir = join(root, name);
    await writeIdx(join(dir, 't10k-images-idx3-ubyte.gz'), imgs, [4, 28, 28]);
    await writeIdx(join(dir, 't10k-labels-idx1-ubyte.gz'), Uint8Array.from([1, 2, 3, 4]), [4]);
    return dir;
  }

  it('wrong magic number (labels file given as images)', async () => {
    const dir = await idxDir('magic');
    const file = join(dir, 't10k-images-idx3-ubyte.gz');
    await writeFile(file, gzipSync(encodeIdx(new Uint8Array(4), [4])));
    await expectDatasetError(
      loadIdx({ dir, split: 'test', dataset: 'mnist' }),
      [/wrong IDX magic number 0x00000801, expected 0x00000803/],
      { file },
    );
  });

  it('truncated images file: names the incomplete record', async () => {
    const dir = await idxDir('itrunc');
    const file = join(dir, 't10k-images-idx3-ubyte.gz');
    const raw = encodeIdx(imgs, [4, 28, 28]);
    await writeFile(file, gzipSync(raw.subarray(0, 16 + 2 * 784 + 5)));
    await expectDatasetError(
      loadIdx({ dir, split: 'test', dataset: 'mnist' }),
      [/truncated: header says 4 x 28 x 28/],
      {
        file,
        record: 2,
      },
    );
  });

  it('truncated gzip stream', async () => {
    const dir = await idxDir('gztrunc');
    const file = join(dir, 't10k-images-idx3-ubyte.gz');
    const gz = await readFile(file);
    await writeFile(file, gz.subarray(0, gz.length - 100));
    await expectDatasetError(
      loadIdx({ dir, split: 'test', dataset: 'mnist' }),
      [/corrupt or truncated gzip/],
      { file },
    );
  });

  it('oversized file: trailing bytes after the data the header announces', async () => {
    const dir = await idxDir('iover');
    const file = join(dir, 't10k-labels-idx1-ubyte.gz');
    const raw = encodeIdx(Uint8Array.from([1, 2, 3, 4]), [4]);
    await writeFile(file, gzipSync(Buffer.concat([raw, Buffer.from([0, 0, 0])])));
    await expectDatasetError(loadIdx({ dir, split: 'test', dataset: 'mnist' }), [/oversized: .*3 trailing/], {
      file,
    });
  });

  it('count mismatch between images and labels', async () => {
    const dir = await idxDir('mismatch');
    const file = join(dir, 't10k-labels-idx1-ubyte.gz');
    await writeIdx(file, Uint8Array.from([1, 2, 3]), [3]);
    await expectDatasetError(
      loadIdx({ dir, split: 'test', dataset: 'mnist' }),
      [
        /count mismatch: 3 labels in .*t10k-labels-idx1-ubyte\.gz for 4 images in .*t10k-images-idx3-ubyte\.gz/,
      ],
      { file },
    );
  });

  it('label out of range', async () => {
    const dir = await idxDir('irange');
    const file = join(dir, 't10k-labels-idx1-ubyte.gz');
    await writeIdx(file, Uint8Array.from([1, 2, 12, 4]), [4]);
    await expectDatasetError(
      loadIdx({ dir, split: 'test', dataset: 'fashion-mnist' }),
      [/label 12 is out of range/],
      {
        file,
        record: 2,
      },
    );
  });

  it('an images file with 0 images is refused, naming the file', async () => {
    const dir = await idxDir('izero');
    const file = join(dir, 't10k-images-idx3-ubyte.gz');
    await writeIdx(file, new Uint8Array(0), [0, 28, 28]);
    await writeIdx(join(dir, 't10k-labels-idx1-ubyte.gz'), new Uint8Array(0), [0]);
    await expectDatasetError(
      loadIdx({ dir, split: 'test', dataset: 'mnist' }),
      [
        /t10k-images-idx3-ubyte\.gz: IDX header dimension 0 \(number of images\) is 0 \(header says 0 x 28 x 28\)/,
      ],
      { file },
    );
  });

  it('images of 0 rows or 0 columns are refused, naming the file and the dimension', async () => {
    for (const [dims, pattern] of [
      [
        [4, 0, 28],
        /t10k-images-idx3-ubyte\.gz: IDX header dimension 1 \(rows\) is 0 \(header says 4 x 0 x 28\)/,
      ],
      [[4, 28, 0], /t10k-images-idx3-ubyte\.gz: IDX header dimension 2 \(columns\) is 0/],
    ] as const) {
      const dir = await idxDir(`izero-${dims.join('-')}`);
      const file = join(dir, 't10k-images-idx3-ubyte.gz');
      await writeIdx(file, new Uint8Array(0), dims);
      await expectDatasetError(loadIdx({ dir, split: 'test', dataset: 'mnist' }), [pattern], { file });
    }
  });

  it('a labels file with 0 labels is refused by decodeIdx, naming the file', async () => {
    const file = 'some/train-labels-idx1-ubyte';
    await expectDatasetError(
      Promise.resolve().then(() => decodeIdx(encodeIdx(new Uint8Array(0), [0]), file, 1)),
      [/IDX header dimension 0 \(number of labels\) is 0/],
      { file },
    );
  });

  it('missing file', async () => {
    const dir = await idxDir('imissing');
    await rm(join(dir, 't10k-labels-idx1-ubyte.gz'));
    await expectDatasetError(
      loadIdx({ dir, split: 'test', dataset: 'mnist' }),
      [/missing IDX file: looked for t10k-labels-idx1-ubyte and t10k-labels-idx1-ubyte\.gz/],
      { file: join(dir, 't10k-labels-idx1-ubyte.gz') },
    );
  });
});
