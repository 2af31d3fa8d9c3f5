import { BLOCK_KINDS, type Block } from './block';

function describe(block: unknown, index: number): string {
  const name = (block as { weight?: { name?: unknown } })?.weight?.name;
  return typeof name === 'string' ? `block ${index} ('${name}')` : `block ${index}`;
}

function isPositiveInteger(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

/**
 * Checks one block descriptor and throws an error naming the block and the field at fault.
 * Only feed-forward dense and conv2d blocks are accepted: residual blocks belong to the analysis package.
 */
export function validateBlock(block: unknown, index = 0): asserts block is Block {
  const where = describe(block, index);
  if (block == null || typeof block !== 'object') {
    throw new TypeError(`${where}: a block descriptor must be an object, got ${String(block)}`);
  }
  const b = block as Partial<Block> & Record<string, unknown>;
  if (!BLOCK_KINDS.includes(b.kind as never)) {
    throw new TypeError(
      `${where}: unsupported kind ${JSON.stringify(b.kind)}; expected one of ${BLOCK_KINDS.map((k) => `'${k}'`).join(', ')} ` +
        '(feed-forward chains only: residual blocks are analysed by @bmp/backmatching)',
    );
  }
  const w = b.weight as { shape?: unknown; name?: unknown; assign?: unknown } | undefined;
  if (w == null || !Array.isArray(w.shape) || typeof w.name !== 'string' || typeof w.assign !== 'function') {
    throw new TypeError(`${where}: 'weight' must be a tf.Variable`);
  }
  const rank = w.shape.length;
  if (b.kind === 'dense' && rank !== 2) {
    throw new RangeError(`${where}: a dense kernel must have rank 2 ([nIn, nOut]), got shape [${w.shape}]`);
  }
  if (b.kind === 'conv2d') {
    if (rank !== 4) {
      throw new RangeError(
        `${where}: a conv2d kernel must have rank 4 ([kh, kw, cIn, cOut]), got shape [${w.shape}]`,
      );
    }
    for (const field of ['inputPositions', 'outputPositions'] as const) {
      if (!isPositiveInteger(b[field])) {
        throw new TypeError(
          `${where}: '${field}' must be a positive integer (H * W of the conv's ${field === 'inputPositions' ? 'input' : 'output'} map), got ${String(b[field])}`,
        );
      }
    }
    const s = b.strides;
    const okStride =
      s === undefined ||
      isPositiveInteger(s) ||
      (Array.isArray(s) && s.length === 2 && s.every(isPositiveInteger));
    if (!okStride) {
      throw new TypeError(
        `${where}: 'strides' must be a positive integer or [sh, sw], got ${JSON.stringify(s)}`,
      );
    }
    const p = b.padding;
    const okPadding =
      p === undefined ||
      p === 'same' ||
      p === 'valid' ||
      (typeof p === 'number' && Number.isInteger(p) && p >= 0);
    if (!okPadding) {
      throw new TypeError(
        `${where}: 'padding' must be 'same', 'valid' or a non-negative integer, got ${JSON.stringify(p)}`,
      );
    }
  }
}

/** Validates a list of blocks in forward order and checks that no weight appears twice. */
export function validateBlocks(blocks: unknown): asserts blocks is Block[] {
  if (!Array.isArray(blocks)) {
    throw new TypeError(`blocks must be an array of block descriptors, got ${typeof blocks}`);
  }
  const seen = new Set<string>();
  blocks.forEach((block, i) => {
    validateBlock(block, i);
    const name = block.weight.name;
    if (seen.has(name)) throw new Error(`block ${i}: weight '${name}' appears in more than one block`);
    seen.add(name);
  });
}
