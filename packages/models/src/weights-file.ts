/**
 * The `@bmp/models` weights file: the safetensors layout (https://github.com/huggingface/safetensors),
 * readable by `safetensors.numpy.load_file` / `safetensors.torch.load_file`.
 *
 * ```
 * bytes 0..8        N, the header length, unsigned 64-bit little-endian
 * bytes 8..8+N      UTF-8 JSON header, padded with spaces so that 8 + N is a multiple of 8:
 *                   { "__metadata__": { "format": "bmp-models", "version": "1", "crc32": "<hex>",
 *                                       "model": "<model name>", "architecture": "<JSON config>" },
 *                     "<layer>/<weight>": { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] },
 *                     ... }
 * bytes 8+N..       the tensors' float32 little-endian values, back to back in header order; offsets are
 *                   relative to the start of this section, and the section has no gaps and no tail.
 * ```
 *
 * Tensor names are relative to the model (`conv3/kernel`, `bn3/running_mean`, `bn3/running_var`, `fc/kernel`),
 * so a file loads into any model of the same architecture, whatever its name. `crc32` (IEEE, of the data
 * section) detects corrupted values.
 */

export const WEIGHTS_FORMAT = 'bmp-models';
export const WEIGHTS_FORMAT_VERSION = '1';

/** A malformed, corrupted or mismatched weights file. */
export class WeightsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsFileError';
  }
}

export interface NamedValues {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface DecodedWeightsFile {
  metadata: Record<string, string>;
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, as zlib's `crc32`) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable == null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function writeFloats(target: Uint8Array, offset: number, values: Float32Array): void {
  if (LITTLE_ENDIAN) {
    target.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    return;
  }
  const view = new DataView(target.buffer, target.byteOffset);
  for (let i = 0; i < values.length; i++) view.setFloat32(offset + 4 * i, values[i], true);
}

function readFloats(source: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(source.subarray(offset, offset + 4 * count));
    return out;
  }
  const view = new DataView(source.buffer, source.byteOffset);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, true);
  return out;
}

/** Encodes tensors (in the given order) and string metadata; `format`, `version` and `crc32` are added. */
export function encodeWeightsFile(
  tensors: readonly NamedValues[],
  metadata: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  let dataLength = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new Error(`duplicate tensor name '${t.name}'`);
    if (t.values.length !== product(t.shape)) {
      throw new Error(`tensor '${t.name}': ${t.values.length} values for shape [${t.shape}]`);
    }
    header[t.name] = {
      dtype: 'F32',
      shape: t.shape,
      data_offsets: [dataLength, dataLength + 4 * t.values.length],
    };
    dataLength += 4 * t.values.length;
  }
  const data = new Uint8Array(dataLength);
  let offset = 0;
  for (const t of tensors) {
    writeFloats(data, offset, t.values);
    offset += 4 * t.values.length;
  }
  const meta = {
    ...metadata,
    format: WEIGHTS_FORMAT,
    version: WEIGHTS_FORMAT_VERSION,
    crc32: crc32(data).toString(16).padStart(8, '0'),
  };
  let json = new TextEncoder().encode(JSON.stringify({ __metadata__: meta, ...header }));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + dataLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Decodes and checks a weights file; every problem is a `WeightsFileError` naming the tensor at fault. */
export function decodeWeightsFile(bytes: Uint8Array, source = 'weights file'): DecodedWeightsFile {
  const fail = (msg: string): never => {
    throw new WeightsFileError(`${source}: ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected bytes (Uint8Array)');
  if (bytes.length < 8) fail(`too short (${bytes.length} bytes) to hold a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi !== 0 || lo > bytes.length - 8) {
    fail(
      `header length ${hi * 2 ** 32 + lo} exceeds the file size (${bytes.length} bytes): not a weights file, or truncated`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + lo)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message}): not a weights file, or corrupted`);
  }
  if (header == null || typeof header !== 'object' || Array.isArray(header))
    fail('header is not a JSON object');
  const entries = header as Record<string, unknown>;
  const metadata = (entries.__metadata__ ?? {}) as Record<string, string>;
  if (metadata.format !== WEIGHTS_FORMAT) {
    fail(`metadata.format is ${JSON.stringify(metadata.format)}, expected '${WEIGHTS_FORMAT}'`);
  }
  if (metadata.version !== WEIGHTS_FORMAT_VERSION) {
    fail(
      `format version ${JSON.stringify(metadata.version)} is not supported (expected '${WEIGHTS_FORMAT_VERSION}')`,
    );
  }
  const dataStart = 8 + lo;
  const dataLength = bytes.length - dataStart;
  const spans: Array<{ name: string; begin: number; end: number; shape: number[] }> = [];
  for (const [name, entry] of Object.entries(entries)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e == null || typeof e !== 'object') fail(`tensor '${name}': entry is not an object`);
    if (e.dtype !== 'F32') fail(`tensor '${name}': dtype ${JSON.stringify(e.dtype)}, expected 'F32'`);
    if (!Array.isArray(e.shape) || !e.shape.every(isNonNegativeInt)) {
      fail(`tensor '${name}': shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
      fail(`tensor '${name}': data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as number[];
    const shape = e.shape as number[];
    if (end - begin !== 4 * product(shape)) {
      fail(
        `tensor '${name}': data_offsets [${begin}, ${end}] hold ${(end - begin) / 4} floats, shape [${shape}] needs ${product(shape)}`,
      );
    }
    if (end > dataLength) {
      fail(
        `tensor '${name}': data ends at byte ${end} but the data section has ${dataLength} bytes (file truncated?)`,
      );
    }
    spans.push({ name, begin, end, shape });
  }
  const sorted = [...spans].sort((a, b) => a.begin - b.begin);
  let cursor = 0;
  for (const s of sorted) {
    if (s.begin !== cursor)
      fail(`tensor '${s.name}': data starts at byte ${s.begin}, expected ${cursor} (overlap or gap)`);
    cursor = s.end;
  }
  if (cursor !== dataLength)
    fail(`data section has ${dataLength} bytes, tensors cover ${cursor} (trailing bytes)`);
  if (metadata.crc32 != null) {
    const actual = crc32(bytes.subarray(dataStart)).toString(16).padStart(8, '0');
    if (actual !== metadata.crc32) {
      fail(
        `checksum mismatch (crc32 ${actual}, header says ${metadata.crc32}): the tensor data is corrupted`,
      );
    }
  }
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const s of spans) {
    tensors.set(s.name, {
      shape: s.shape,
      values: readFloats(bytes, dataStart + s.begin, (s.end - s.begin) / 4),
    });
  }
  return { metadata, tensors };
}
