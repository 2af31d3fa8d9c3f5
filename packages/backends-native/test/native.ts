// What both test files share: the loaded addon (or why not), the suite switch, a seeded generator.
import { describe } from 'vitest';
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

/** Mulberry32: seeded, so every case is reproducible from its label. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
