import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';

/**
 * The IDX format of MNIST and Fashion-MNIST: a 4-byte magic number (0, 0, data type, number of
 * dimensions), one big-endian uint32 per dimension, then the data. Only unsigned bytes (type 0x08) are
 * used by these datasets: images are `0x00000803` (count, rows, cols), labels `0x00000801` (count).
 */

export const IDX_UBYTE = 0x08;

export interface IdxArray {
  dims: number[];
  /** The data, a view into the file's bytes. */
  data: Uint8Array;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/**
 * Parses IDX `bytes` (already gunzipped), checking the magic number, the dimensions (each at least 1; they
 * are numbered from 0 in messages) and the length.
 */
export function decodeIdx(bytes: Uint8Array, file: string, ndims: number): IdxArray {
  const expectedMagic = (IDX_UBYTE << 8) | ndims;
  if (bytes.length < 4) throw new DatasetError(`not an IDX file: only ${bytes.length} bytes`, { file });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expectedMagic) {
    throw new DatasetError(
      `wrong IDX magic number ${hex(magic)}, expected ${hex(expectedMagic)} ` +
        `(unsigned bytes, ${ndims} dimension${ndims === 1 ? '' : 's'}: ${ndims === 1 ? 'labels' : 'images'})`,
      { file },
    );
  }
  if (bytes.length < 4 + 4 * ndims) {
    throw new DatasetError(`truncated IDX header: ${bytes.length} bytes`, { file });
  }
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d));
  // A zero anywhere means no data (no images or labels, or images of zero rows or columns): refuse it
  // here, naming the file, rather than return a dataset with count 0 or an empty image shape.
  const zero = dims.indexOf(0);
  if (zero >= 0) {
    const names =
      ndims === 3 ? ['number of images', 'rows', 'columns'] : ndims === 1 ? ['number of labels'] : [];
    const what = names[zero] === undefined ? '' : ` (${names[zero]})`;
    throw new DatasetError(
      `IDX header dimension ${zero}${what} is 0 (header says ${dims.join(' x ')}): every dimension must be ` +
        `at least 1`,
      { file },
    );
  }
  const header = 4 + 4 * ndims;
  const recordSize = dims.slice(1).reduce((a, b) => a * b, 1);
  const expected = header + dims[0] * recordSize;
  if (bytes.length < expected) {
    const complete = Math.floor((bytes.length - header) / recordSize);
    throw new DatasetError(
      `truncated: header says ${dims.join(' x ')} (${expected} bytes) but the file has ${bytes.length} bytes`,
      { file, record: complete },
    );
  }
  if (bytes.length > expected) {
    throw new DatasetError(
      `oversized: header says ${dims.join(' x ')} (${expected} bytes) but the file has ${bytes.length} bytes ` +
        `(${bytes.length - expected} trailing)`,
      { file },
    );
  }
  return { dims, data: bytes.subarray(header) };
}

/** Encodes unsigned bytes with the given dimensions as IDX. */
export function encodeIdx(data: Uint8Array, dims: readonly number[]): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size)
    throw new RangeError(`encodeIdx: ${data.length} bytes for dims ${dims.join('x')}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + size);
  const view = new DataView(out.buffer);
  view.setUint32(0, (IDX_UBYTE << 8) | dims.length);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d);
  });
  out.set(data, header);
  return out;
}

/** Writes an IDX file, gzipped when `path` ends in `.gz`. */
export async function writeIdx(path: string, data: Uint8Array, dims: readonly number[]): Promise<void> {
  const raw = encodeIdx(data, dims);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, path.endsWith('.gz') ? gzipSync(raw, { level: 9 }) : raw);
}
