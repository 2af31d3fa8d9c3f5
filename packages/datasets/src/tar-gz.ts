import { createReadStream, createWriteStream } from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { DatasetError } from './errors.js';

/**
 * Streams a `.tar.gz` archive and returns the contents of the regular files whose base name `want`
 * accepts, keyed by base name. Other entries are skipped without being buffered.
 */
export async function readTarGzFiles(
  archive: string,
  want: (baseName: string) => boolean,
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const extract = tarStream.extract();
  const done = pipeline(createReadStream(archive), createGunzip(), extract);
  // The loop below sees the same failure; this keeps the promise from being reported as unhandled.
  done.catch(() => {});
  try {
    for await (const entry of extract) {
      const base = posix.basename(entry.header.name);
      if ((entry.header.type ?? 'file') === 'file' && want(base)) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        found.set(base, Buffer.concat(chunks));
      } else {
        entry.resume();
      }
    }
    await done;
  } catch (error) {
    throw new DatasetError(`cannot read archive: ${(error as Error).message}`, {
      file: archive,
      cause: error,
    });
  }
  return found;
}

/** Writes a `.tar.gz` archive holding `files` (path inside the archive -> contents), in order. */
export async function writeTarGz(archive: string, files: ReadonlyArray<[string, Uint8Array]>): Promise<void> {
  const pack = tarStream.pack();
  const written = pipeline(pack, createGzip(), createWriteStream(archive));
  const dirs = new Set<string>();
  for (const [name, contents] of files) {
    const dir = posix.dirname(name);
    if (dir !== '.' && !dirs.has(dir)) {
      dirs.add(dir);
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, mtime: new Date(0) }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    }
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name, size: contents.length, mode: 0o644, mtime: new Date(0) },
        Buffer.from(contents),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await written;
}
