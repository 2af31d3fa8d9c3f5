import { crc32c, maskedCrc32c, unmaskCrc32c } from './crc32c';

/**
 * TFRecord framing of one record:
 *   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
 */
export function frameTfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

export interface TfRecordReadResult {
  /** Record payloads whose length and data CRCs both matched. */
  records: Uint8Array[];
  /** Why reading stopped early (truncated file, CRC mismatch), if it did. */
  problem?: { offset: number; message: string };
}

/** Splits a TFRecord file into its records, checking both CRCs; stops at the first bad frame. */
export function readTfRecords(bytes: Uint8Array): TfRecordReadResult {
  const records: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 12) {
      return { records, problem: { offset, message: 'truncated record header' } };
    }
    const len = view.getBigUint64(offset, true);
    const lenCrc = unmaskCrc32c(view.getUint32(offset + 8, true));
    if (crc32c(bytes.subarray(offset, offset + 8)) !== lenCrc) {
      return { records, problem: { offset, message: 'length CRC-32C mismatch' } };
    }
    const n = Number(len);
    if (bytes.length - offset - 12 < n + 4) {
      return { records, problem: { offset, message: 'truncated record data' } };
    }
    const data = bytes.subarray(offset + 12, offset + 12 + n);
    if (crc32c(data) !== unmaskCrc32c(view.getUint32(offset + 12 + n, true))) {
      return { records, problem: { offset, message: 'data CRC-32C mismatch' } };
    }
    records.push(data);
    offset += 16 + n;
  }
  return { records };
}
