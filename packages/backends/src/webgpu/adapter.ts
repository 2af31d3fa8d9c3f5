/**
 * What a WebGPU adapter is, read from `GPUAdapter.info`: enough to label a run ("GPU: nvidia ...") and to
 * tell a real GPU from a software rasteriser, which `prefer: 'auto'` must never pick.
 */
export interface GpuAdapterInfo {
  /** `GPUAdapterInfo.vendor`, e.g. 'nvidia', 'amd', 'intel', 'apple', 'mesa' (may be empty). */
  vendor: string;
  /** `GPUAdapterInfo.architecture`, e.g. 'ampere', 'rdna-3', 'software' (may be empty). */
  architecture: string;
  /** `GPUAdapterInfo.device` (may be empty). */
  device: string;
  /** `GPUAdapterInfo.description`: the driver's name for it (may be empty). */
  description: string;
  /** A software or fallback adapter (llvmpipe, lavapipe, SwiftShader, WARP): WebGPU emulated on the CPU. */
  software: boolean;
}

/** The fields of `GPUAdapterInfo` this reads (Dawn's are getters on the prototype, so spread misses them). */
interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

// Names the software rasterisers give themselves: Mesa's llvmpipe/lavapipe, Google's SwiftShader,
// Microsoft's WARP ("Microsoft Basic Render Driver").
const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|basic render|\bwarp\b/i;

/**
 * Reads an adapter's info. `fallback` is `GPUAdapter.isFallbackAdapter` where the implementation has it
 * (older spec); newer ones put `isFallbackAdapter` in the info itself.
 */
export function readAdapterInfo(info: AdapterInfoLike | undefined, fallback?: boolean): GpuAdapterInfo {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const software =
    fallback === true ||
    info?.isFallbackAdapter === true ||
    architecture.toLowerCase() === 'software' ||
    SOFTWARE_NAMES.test(`${description} ${device}`);
  return { vendor, architecture, device, description, software };
}

/** One line for logs and config.json: "nvidia ampere (NVIDIA H100 80GB HBM3)", "... [software]". */
export function describeAdapter(a: GpuAdapterInfo): string {
  const name = [a.vendor, a.architecture].filter((s) => s !== '').join(' ') || 'unknown adapter';
  const detail = a.description !== '' ? a.description : a.device;
  return `${name}${detail !== '' ? ` (${detail})` : ''}${a.software ? ' [software: WebGPU emulated on the CPU]' : ''}`;
}
