/**
 * Node-only file helpers, loaded lazily (`import('node:fs/promises')`) so that the package itself stays
 * usable in browsers, where the in-memory APIs (`serialize`, `loadBytes`, `toLayersModelArtifacts`) apply.
 */
import type { writeFileAtomic as WriteFileAtomic } from '@bmp/runlog/node';

const RUNLOG_NODE = '@bmp/runlog/node';

async function nodeFs() {
  try {
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    return { fs, path };
  } catch {
    throw new Error('writing and reading files needs Node.js; in a browser use serialize()/loadBytes()');
  }
}

/**
 * Writes `data` to `file` atomically with @bmp/runlog's writer (one implementation for every bmp
 * package): a temporary file in the same directory is written and flushed, renamed over `file`, and the
 * directory is flushed too, so the new name survives a power cut. Readers see the old file or the new
 * one, never a partial one; on failure the temporary file is removed and `file` is untouched.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  let runlog: { writeFileAtomic: typeof WriteFileAtomic };
  try {
    // A variable specifier: bundlers of browser code leave this Node-only module alone.
    runlog = await import(/* @vite-ignore */ RUNLOG_NODE);
  } catch {
    throw new Error('writing and reading files needs Node.js; in a browser use serialize()/loadBytes()');
  }
  await runlog.writeFileAtomic(file, data);
}

export async function readFileBytes(file: string): Promise<Uint8Array> {
  const { fs } = await nodeFs();
  const buf = await fs.readFile(file);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export async function ensureDirectory(dir: string): Promise<void> {
  const { fs } = await nodeFs();
  await fs.mkdir(dir, { recursive: true });
}

export async function joinPath(...parts: string[]): Promise<string> {
  const { path } = await nodeFs();
  return path.join(...parts);
}
