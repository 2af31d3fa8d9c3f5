import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-node-gpu loads, and silently computes on the CPU, when libtensorflow finds no CUDA device (the CUDA
 * 11.2 / cuDNN 8.1 libraries missing from the library path, no driver, no GPU). Its backend says which
 * through `isUsingGpuDevice`; this turns "no GPU" into the reason the 'node-gpu' choice is refused, so a
 * CPU run is never labelled GPU. Call it with the 'tensorflow' backend current.
 */
export function nodeGpuRefusal(): string | null {
  const backend = tf.backend() as { isUsingGpuDevice?: boolean };
  if (backend.isUsingGpuDevice === true) return null;
  const why =
    backend.isUsingGpuDevice === false
      ? 'libtensorflow sees no GPU (isUsingGpuDevice is false)'
      : 'the backend does not say whether it uses a GPU (no isUsingGpuDevice)';
  return (
    `@tensorflow/tfjs-node-gpu loaded but ${why}, so it would compute on the CPU: it needs an NVIDIA GPU, ` +
    'its driver, and CUDA 11.2 with cuDNN 8.1 on the library path (LD_LIBRARY_PATH); for a GPU without that ' +
    "toolchain use 'webgpu' (Dawn), for libtensorflow on the CPU 'node'"
  );
}
