// @bmp/backends-native: the native kernels, loaded in the variant this CPU runs (load.ts), and the
// convolution geometry they take.

import { dirname } from 'node:path';

import { fileURLToPath } from 'node:url';
import type { ConvGeometry } from './kernels';
import { loadNativeKernelsFrom, type NativeLoadResult } from './load';

export { ISA_ENV, selectIsa, supportedIsas } from './isa-select';
export type { ConvGeometry, NativeKernels } from './kernels';
export { type LoadOptions, loadNativeKernelsFrom, type NativeIsaChoice, type NativeLoadResult } from './load';

declare const __filename: string | undefined;

/** The package root: dist/index.{js,cjs} and src/index.ts both sit one level below it. */
export const packageDir: string = dirname(
  dirname(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url)),
);

let cached: NativeLoadResult | undefined;

/**
 * Loads the addon variant for this CPU once (BMP_NATIVE_ISA picks a lower one); never throws: `reason`
 * says what was loaded, or why nothing was.
 */
export function loadNativeKernels(): NativeLoadResult {
  if (cached) return cached;
  try {
    cached = loadNativeKernelsFrom({ packageDir });
  } catch (error) {
    // An unreadable package folder (src/native, a manifest): say so, and let the caller run wasm.
    const reason = `@bmp/backends-native could not look for its addon in ${packageDir}: ${(error as Error).message}`;
    cached = { kernels: null, path: packageDir, reason, choice: null };
  }
  return cached;
}

/** Packs a geometry for the kernels, checking that every value is an integer in range. */
export function convGeometry(g: {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  filterHeight: number;
  filterWidth: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}): ConvGeometry {
  const values = [
    g.batch,
    g.inHeight,
    g.inWidth,
    g.inChannels,
    g.filterHeight,
    g.filterWidth,
    g.outChannels,
    g.outHeight,
    g.outWidth,
    g.strideHeight,
    g.strideWidth,
    g.padTop,
    g.padLeft,
  ];
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || (i < 11 && v < 1)) {
      throw new Error(
        `@bmp/backends-native: convolution geometry value ${i} is ${v} (expected an integer${i < 11 ? ' >= 1' : ''})`,
      );
    }
  });
  return Int32Array.from(values);
}
