// Loads @bmp/backends-native (an optional dependency, Node.js only) without making bundlers resolve it.
import type { NativeKernels, NativeLoadResult } from '@bmp/backends-native';

export const NATIVE_PACKAGE = '@bmp/backends-native';

/** Imports `NATIVE_PACKAGE`; tests inject their own to simulate a missing or broken addon. */
export type NativeLoader = () => Promise<{ loadNativeKernels(): NativeLoadResult }>;

// A computed specifier, so that browser bundlers leave the Node-only package alone.
export const defaultNativeLoader: NativeLoader = () =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ `${NATIVE_PACKAGE}`);

/** The native kernels, or null with the reason (never throws). */
export async function loadNative(
  loader: NativeLoader = defaultNativeLoader,
): Promise<{ kernels: NativeKernels | null; reason: string }> {
  let module: Awaited<ReturnType<NativeLoader>>;
  try {
    module = await loader();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const missing = /Cannot find (module|package)|ERR_MODULE_NOT_FOUND|MODULE_NOT_FOUND/.test(message);
    return {
      kernels: null,
      reason: missing
        ? `${NATIVE_PACKAGE} is not installed (an optional dependency of @bmp/backends: \`npm install ${NATIVE_PACKAGE}\`, with a C++17 compiler on PATH)`
        : `${NATIVE_PACKAGE} failed to load (${message})`,
    };
  }
  const { kernels, reason } = module.loadNativeKernels();
  return { kernels, reason };
}
