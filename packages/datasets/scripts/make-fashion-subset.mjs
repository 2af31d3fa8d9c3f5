#!/usr/bin/env node
// Regenerates data/fashion-mnist-subset/ from the official Fashion-MNIST files, as installed by Debian's
// `dataset-fashion-mnist` package (apt-get install dataset-fashion-mnist).
//
//   node scripts/make-fashion-subset.mjs [sourceDir] [outDir]
//
// Selection (deterministic, class-balanced): for each split, walk the official file in order and keep the
// first 1000 (train) / 200 (test) images of each of the 10 classes, preserving file order. The official
// files are already in random class order. The .gz bytes may differ between zlib versions; the decompressed
// IDX files (whose SHA-256 this script prints and the README lists) do not.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const outDir = process.argv[3] ?? join(here, '..', 'data', 'fashion-mnist-subset');
const PER_CLASS = { train: 1000, t10k: 200 };
const CLASSES = 10;

function readIdx(path, magic) {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes.readUInt32BE(0) !== magic) throw new Error(`${path}: bad IDX magic`);
  const ndims = magic & 0xff;
  const dims = [];
  for (let d = 0; d < ndims; d++) dims.push(bytes.readUInt32BE(4 + 4 * d));
  return { dims, data: bytes.subarray(4 + 4 * ndims) };
}

function idx(data, dims) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE((0x08 << 8) | dims.length, 0);
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  return Buffer.concat([header, Buffer.from(data)]);
}

mkdirSync(outDir, { recursive: true });
for (const split of ['train', 't10k']) {
  const images = readIdx(join(sourceDir, `${split}-images-idx3-ubyte.gz`), 0x803);
  const labels = readIdx(join(sourceDir, `${split}-labels-idx1-ubyte.gz`), 0x801);
  const [count, rows, cols] = images.dims;
  const size = rows * cols;
  const taken = new Array(CLASSES).fill(0);
  const keep = [];
  for (let i = 0; i < count && keep.length < CLASSES * PER_CLASS[split]; i++) {
    const label = labels.data[i];
    if (taken[label] < PER_CLASS[split]) {
      taken[label]++;
      keep.push(i);
    }
  }
  if (keep.length !== CLASSES * PER_CLASS[split]) throw new Error(`${split}: not enough images per class`);
  const outImages = new Uint8Array(keep.length * size);
  const outLabels = new Uint8Array(keep.length);
  keep.forEach((src, j) => {
    outImages.set(images.data.subarray(src * size, (src + 1) * size), j * size);
    outLabels[j] = labels.data[src];
  });
  for (const [name, raw] of [
    [`${split}-images-idx3-ubyte`, idx(outImages, [keep.length, rows, cols])],
    [`${split}-labels-idx1-ubyte`, idx(outLabels, [keep.length])],
  ]) {
    const gz = gzipSync(raw, { level: 9 });
    writeFileSync(join(outDir, `${name}.gz`), gz);
    const sha = createHash('sha256').update(raw).digest('hex');
    console.log(`${name}.gz  ${gz.length} bytes  sha256(uncompressed)=${sha}`);
  }
}
