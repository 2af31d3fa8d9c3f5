/** 32-bit FNV-1a over the bytes of `data`, continuing from `hash` (default: the FNV offset basis). */
export function fnv1a(data: ArrayBufferView, hash = 0x811c9dc5): number {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = hash >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * FNV-1a over an epoch's index order, each index as 4 little-endian bytes. Equal hashes mean (with
 * overwhelming probability) the same batch order; log it to check that two runs saw the same batches.
 */
export function orderHash(order: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < order.length; i++) {
    const v = order[i] >>> 0;
    for (let b = 0; b < 4; b++) {
      h ^= (v >>> (8 * b)) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}

/** FNV-1a over a batch's pixels (float32 bytes) and then its labels. */
export function batchHash(batch: { x: Float32Array; y: Int32Array }): number {
  return fnv1a(batch.y, fnv1a(batch.x));
}
