/**
 * Whether this machine may have a GPU that Dawn could use. On Linux a GPU shows as a device node: DRM
 * render nodes (AMD, Intel, and NVIDIA's open driver), NVIDIA's /dev/nvidia*, WSL2's /dev/dxg. Without
 * one, Dawn could find only a software adapter, which auto selection refuses anyway; not starting Dawn
 * saves its start-up and the warnings a software Vulkan driver prints. Elsewhere (macOS, Windows): true.
 */
export async function mayHaveGpu(): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  // A computed specifier keeps bundlers of the browser build from resolving node:fs.
  const fs = (await import(
    /* webpackIgnore: true */ /* @vite-ignore */ `node:${'fs'}`
  )) as typeof import('node:fs');
  if (fs.existsSync('/dev/dxg')) return true;
  const names = (dir: string) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  return (
    names('/dev/dri').some((n) => n.startsWith('renderD')) || names('/dev').some((n) => /^nvidia\d+$/.test(n))
  );
}
