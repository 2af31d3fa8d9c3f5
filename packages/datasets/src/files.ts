import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a file, gunzipping it when it starts with the gzip magic bytes (1f 8b). */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (error) {
    throw new DatasetError(`cannot read file: ${(error as Error).message}`, { file: path, cause: error });
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (error) {
      throw new DatasetError(`corrupt or truncated gzip data: ${(error as Error).message}`, {
        file: path,
        cause: error,
      });
    }
  }
  return raw;
}
