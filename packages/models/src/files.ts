/**
 * Node-only file helpers, loaded lazily (`import('node:fs/promises')`) so that the package itself stays
 * usable in browsers, where the in-memory APIs (`serialize`, `loadBytes`, `toLayersModelArtifacts`) apply.
 */

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
 * Writes `data` to `file` atomically: a temporary file in the same directory is written and flushed, then
 * renamed over `file`. Readers see the old file or the new one, never a partial one; on failure the
 * temporary file is removed and `file` is untouched.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const { fs, path } = await nodeFs();
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  let handle: Awaited<ReturnType<typeof fs.open>> | null = null;
  try {
    handle = await fs.open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = null;
    await fs.rename(tmp, file);
  } catch (e) {
    if (handle != null) await handle.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
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
