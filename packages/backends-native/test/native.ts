// What the test files share: the loaded addon (or why not), the suite switch, a seeded generator.
import { seededRandom } from '@bmp/test-utils/random';
import { describe, expect } from 'vitest';
import { loadNativeKernels, type NativeKernels } from '../src';

const REQUIRED = process.env.BMP_REQUIRE_NATIVE === '1';
const loaded = loadNativeKernels();

/**
 * `describe` when the addon loaded (or BMP_REQUIRE_NATIVE=1, so that a missing addon fails in CI),
 * else `describe.skip`, with the reason printed once per file (`file`).
 */
export function nativeDescribe(file: string): typeof describe {
  if (loaded.kernels == null) {
    console.warn(
      `[@bmp/backends-native ${file}] ${REQUIRED ? 'FAILING (BMP_REQUIRE_NATIVE=1)' : 'skipped'}: ${loaded.reason}`,
    );
  }
  return loaded.kernels != null || REQUIRED ? describe : (describe.skip as typeof describe);
}

export function native(): NativeKernels {
  if (loaded.kernels == null) throw new Error(`the native kernels did not load: ${loaded.reason}`);
  return loaded.kernels;
}

export const nativeLoad = loaded;
export const nativeRequired = REQUIRED;

/** Mulberry32 (@bmp/test-utils): seeded, so every case is reproducible from its label. */
export const seeded = seededRandom;

/** n values uniform in [lo, hi) from seed. */
export function floats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** max |a - b| / max |b|: the error relative to the reference's scale (ratios blow up near zero). */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

/** `fn` throws a TypeError whose message starts with "@bmp/backends-native: " and matches `message`. */
export function expectTypeError(fn: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TypeError);
  expect((error as Error).message.startsWith('@bmp/backends-native: ')).toBe(true);
  expect((error as Error).message).toMatch(message);
}

/** The first index where the bits differ, or -1 (vitest's deep equality is slow on 100k elements). */
export function firstDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return 0;
  return ua.findIndex((v, i) => v !== ub[i]);
}
