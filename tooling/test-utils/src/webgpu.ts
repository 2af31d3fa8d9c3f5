/**
 * WebGPU in tests: Dawn (the `webgpu` package) on a Vulkan driver; on CI the llvmpipe software adapter from
 * Mesa 25. Without one the webgpu tests skip with a notice, unless BMP_REQUIRE_WEBGPU=1 (set by .ci/run),
 * which makes a missing adapter a failure.
 */
export const WEBGPU_REQUIRED = process.env.BMP_REQUIRE_WEBGPU === '1';

/**
 * Runs `init` (e.g. `() => initBackend({ prefer: 'webgpu' })`): true when it works; false, with a notice
 * on stderr, when it fails and WebGPU is not required; throws when it is required.
 */
export async function webgpuOrSkip(init: () => Promise<unknown>, what: string): Promise<boolean> {
  try {
    await init();
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (WEBGPU_REQUIRED) throw new Error(`BMP_REQUIRE_WEBGPU=1 but webgpu is not available: ${message}`);
    console.warn(
      `notice: ${what} skipped: no WebGPU adapter (${message.split('\n')[0]}); BMP_REQUIRE_WEBGPU=1 makes this a failure`,
    );
    return false;
  }
}
