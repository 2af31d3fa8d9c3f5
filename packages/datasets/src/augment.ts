/**
 * Image transforms on one image stored as a Float32Array, HWC (row-major, channels last). Each writes
 * into `out`, which must not alias `src`. Pixels that come from outside the source image are 0.
 */

export type Shape3 = readonly [number, number, number];

/** Mirrors left-right: out[y][x] = src[y][w-1-x]. */
export function flipHorizontal(src: Float32Array, shape: Shape3, out: Float32Array): Float32Array {
  const [h, w, c] = shape;
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      const o = row + x * c;
      const s = row + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) out[o + k] = src[s + k];
    }
  }
  return out;
}

/**
 * Shifts content as a crop of the image zero-padded by `padding` on every side, taken at offset
 * (`dy`, `dx`) in [0, 2 * padding]: out[y][x] = src[y + dy - padding][x + dx - padding], 0 outside.
 * `dy = dx = padding` is the identity.
 */
export function cropWithPadding(
  src: Float32Array,
  shape: Shape3,
  padding: number,
  dy: number,
  dx: number,
  out: Float32Array,
): Float32Array {
  const [h, w, c] = shape;
  const oy = dy - padding;
  const ox = dx - padding;
  for (let y = 0; y < h; y++) {
    const sy = y + oy;
    for (let x = 0; x < w; x++) {
      const sx = x + ox;
      const o = (y * w + x) * c;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        for (let k = 0; k < c; k++) out[o + k] = 0;
      } else {
        const s = (sy * w + sx) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[s + k];
      }
    }
  }
  return out;
}

/**
 * Rotates by `degrees` counter-clockwise (as displayed, y pointing down) about the image centre
 * ((w-1)/2, (h-1)/2), sampling bilinearly; samples outside the source read as 0. For a square image,
 * 90 degrees gives out[y][x] = src[x][w-1-y] (transpose, then flip upside down).
 */
export function rotate(src: Float32Array, shape: Shape3, degrees: number, out: Float32Array): Float32Array {
  const [h, w, c] = shape;
  const theta = (degrees * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  // Snap coordinates within 1e-9 of a grid point, so exact multiples of 90 degrees copy pixels exactly.
  const snap = (v: number) => {
    const r = Math.round(v);
    return Math.abs(v - r) < 1e-9 ? r : v;
  };
  for (let y = 0; y < h; y++) {
    const dy = y - cy;
    for (let x = 0; x < w; x++) {
      const dx = x - cx;
      const sx = snap(cx + cos * dx - sin * dy);
      const sy = snap(cy + sin * dx + cos * dy);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (y * w + x) * c;
      for (let k = 0; k < c; k++) {
        let v = 0;
        if (y0 >= 0 && y0 < h) {
          if (x0 >= 0 && x0 < w) v += (1 - fx) * (1 - fy) * src[(y0 * w + x0) * c + k];
          if (fx > 0 && x0 + 1 >= 0 && x0 + 1 < w) v += fx * (1 - fy) * src[(y0 * w + x0 + 1) * c + k];
        }
        if (fy > 0 && y0 + 1 >= 0 && y0 + 1 < h) {
          if (x0 >= 0 && x0 < w) v += (1 - fx) * fy * src[((y0 + 1) * w + x0) * c + k];
          if (fx > 0 && x0 + 1 >= 0 && x0 + 1 < w) v += fx * fy * src[((y0 + 1) * w + x0 + 1) * c + k];
        }
        out[o + k] = v;
      }
    }
  }
  return out;
}

/** Random augmentation, applied in this order: crop with padding, horizontal flip, rotation. */
export interface AugmentOptions {
  /** Zero padding for a random crop of the original size (torchvision's `RandomCrop(size, padding)`). */
  cropPadding?: number;
  /** Mirror left-right with probability 1/2. */
  flip?: boolean;
  /** Rotate by an angle uniform in [-maxRotation, maxRotation] degrees (bilinear, zero fill). */
  maxRotation?: number;
}

/** Throws on invalid options. */
export function checkAugmentOptions(options: AugmentOptions, shape: Shape3): void {
  const p = options.cropPadding ?? 0;
  if (!Number.isInteger(p) || p < 0 || p >= Math.min(shape[0], shape[1])) {
    throw new RangeError(`augment.cropPadding must be an integer in [0, ${Math.min(shape[0], shape[1])})`);
  }
  const r = options.maxRotation ?? 0;
  if (!Number.isFinite(r) || r < 0 || r > 180)
    throw new RangeError('augment.maxRotation must be in [0, 180]');
}

/**
 * Applies `options` to the image in `a` (pixel values), drawing from `rand`; `b` is scratch space of the
 * same size. Returns whichever of `a`/`b` holds the result. Always draws the same number of random numbers
 * for given options, so an image's draws do not depend on the outcome of earlier ones.
 */
export function augmentImage(
  a: Float32Array,
  b: Float32Array,
  shape: Shape3,
  options: AugmentOptions,
  rand: () => number,
): Float32Array {
  let cur = a;
  let other = b;
  const swap = () => {
    const t = cur;
    cur = other;
    other = t;
  };
  const p = options.cropPadding ?? 0;
  if (p > 0) {
    const dy = Math.floor(rand() * (2 * p + 1));
    const dx = Math.floor(rand() * (2 * p + 1));
    if (dy !== p || dx !== p) {
      cropWithPadding(cur, shape, p, dy, dx, other);
      swap();
    }
  }
  if (options.flip) {
    if (rand() < 0.5) {
      flipHorizontal(cur, shape, other);
      swap();
    }
  }
  const r = options.maxRotation ?? 0;
  if (r > 0) {
    const angle = (2 * rand() - 1) * r;
    if (angle !== 0) {
      rotate(cur, shape, angle, other);
      swap();
    }
  }
  return cur;
}
