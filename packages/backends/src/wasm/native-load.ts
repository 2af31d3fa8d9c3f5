// Loads @bmp/backends-native (an optional dependency, Node.js only) without making bundlers resolve it.

export const NATIVE_PACKAGE = '@bmp/backends-native';

/**
 * @bmp/backends-native's kernels (its `NativeKernels`, from its `loadNativeKernels()`), as this package's
 * public declarations name them: only the part they read, declared here, so that those declarations do
 * not import the optional package (a consumer that installs without optional dependencies still
 * type-checks).
 */
export interface NativeKernelSet {
  /** The instruction set the addon was compiled for and its widest vector (float lanes). */
  info(): { isa: string; lanes: number };
}

/** Which instruction-set variant @bmp/backends-native loaded and why (its `NativeIsaChoice`). */
export interface NativeIsaChoiceLike {
  isa: string;
  /** Variants with a fitting binary, lowest first. */
  available: string[];
  /** Variants this CPU runs, lowest first. */
  supported: string[];
  /** 'the best this CPU runs' or 'BMP_NATIVE_ISA=avx2'. */
  why: string;
}

/** What @bmp/backends-native's `loadNativeKernels()` returns, as far as this package reads it. */
export interface NativeLoadResultLike {
  /** The kernels, or null when the addon is not built or does not load. */
  kernels: NativeKernelSet | null;
  /** Why `kernels` is null, or what was loaded. */
  reason: string;
  /** The variant chosen (absent in versions before the per-ISA builds). */
  choice?: NativeIsaChoiceLike | null;
}

/** Imports `NATIVE_PACKAGE`; tests inject their own to simulate a missing or broken addon. */
export type NativeLoader = () => Promise<{ loadNativeKernels(): NativeLoadResultLike }>;

// A computed specifier, so that browser bundlers leave the Node-only package alone.
export const defaultNativeLoader: NativeLoader = () =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ `${NATIVE_PACKAGE}`);

/** The native kernels, or null with the reason (never throws). */
export async function loadNative(
  loader: NativeLoader = defaultNativeLoader,
): Promise<{ kernels: NativeKernelSet | null; reason: string; choice?: NativeIsaChoiceLike | null }> {
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
  const { kernels, reason, choice } = module.loadNativeKernels();
  return { kernels, reason, ...(choice != null ? { choice } : {}) };
}
