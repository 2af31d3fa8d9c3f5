import { describe, expect, it } from 'vitest';
import { crc32c, frameTfRecord, maskCrc32c, readTfRecords, unmaskCrc32c } from '../src/index';

describe('CRC-32C', () => {
  // Test vectors: RFC 3720 (iSCSI) appendix B.4 and the usual check value.
  it.each([
    ['"123456789"', new TextEncoder().encode('123456789'), 0xe3069283],
    ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['bytes 0..31', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['bytes 31..0', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ['empty', new Uint8Array(0), 0],
  ])('crc32c(%s)', (_name, bytes, expected) => {
    expect(crc32c(bytes)).toBe(expected);
  });

  it('takes strings as UTF-8', () => {
    expect(crc32c('123456789')).toBe(0xe3069283);
  });

  it('masks as TFRecord does: rotate right 15, add 0xa282ead8', () => {
    for (const crc of [0, 1, 0xe3069283, 0x8a9136aa, 0xffffffff, 0x80000000]) {
      const expected = (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
      expect(maskCrc32c(crc)).toBe(expected);
      expect(unmaskCrc32c(maskCrc32c(crc))).toBe(crc);
    }
    // By hand: rotr15(0xe3069283) = 0x25 07c6 0d ... computed independently:
    // 0xe3069283 >>> 15 = 0x1c60d, 0xe3069283 << 17 (mod 2^32) = 0x25060000 -> 0x2507c60d
    // 0x2507c60d + 0xa282ead8 = 0xc78ab0e5
    expect(maskCrc32c(0xe3069283)).toBe(0xc78ab0e5);
  });
});

describe('TFRecord framing', () => {
  it('frames as length | masked crc(length) | data | masked crc(data), and reads back', () => {
    const data = new TextEncoder().encode('hello tensorboard');
    const f = frameTfRecord(data);
    const v = new DataView(f.buffer);
    expect(f.length).toBe(data.length + 16);
    expect(v.getBigUint64(0, true)).toBe(BigInt(data.length));
    expect(v.getUint32(8, true)).toBe(maskCrc32c(crc32c(f.subarray(0, 8))));
    expect(f.subarray(12, 12 + data.length)).toEqual(data);
    expect(v.getUint32(12 + data.length, true)).toBe(maskCrc32c(crc32c(data)));
    const two = new Uint8Array([...f, ...frameTfRecord(new Uint8Array([1, 2, 3]))]);
    expect(readTfRecords(two)).toEqual({ records: [data, new Uint8Array([1, 2, 3])] });
  });

  it('reading stops at a corrupted or truncated frame and says where', () => {
    const f = frameTfRecord(new Uint8Array([9, 9, 9, 9]));
    const corrupt = f.slice();
    corrupt[13] ^= 1;
    expect(readTfRecords(corrupt).problem).toEqual({ offset: 0, message: 'data CRC-32C mismatch' });
    const two = new Uint8Array([...f, ...f.subarray(0, 10)]);
    expect(readTfRecords(two)).toMatchObject({ records: [f.subarray(12, 16)], problem: { offset: 20 } });
  });
});
