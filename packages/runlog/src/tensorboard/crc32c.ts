/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by TFRecord framing, and TFRecord's
 * masking of it.
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `bytes` (a string is taken as UTF-8), as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array | string): number {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const MASK_DELTA = 0xa282ead8;

/** TFRecord's masked CRC: rotate right by 15 bits, then add 0xa282ead8 (mod 2^32). */
export function maskCrc32c(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Inverse of `maskCrc32c`. */
export function unmaskCrc32c(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

export const maskedCrc32c = (bytes: Uint8Array): number => maskCrc32c(crc32c(bytes));
