import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CIFAR_LAYOUTS, type CifarVariant } from './cifar-format.js';
import { exists } from './files.js';

/** Official download addresses and MD5 checksums of the binary CIFAR archives. */
export const CIFAR_DOWNLOADS: Record<CifarVariant, { url: string; md5: string }> = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
  },
};

export interface DownloadCifarOptions {
  variant: CifarVariant;
  /** Directory to put the archive in (created if needed). */
  dir: string;
  /** Source address (default: the official one, checked against the official MD5). */
  url?: string;
  /** Expected SHA-256 (hex) of the archive; takes precedence over MD5. */
  sha256?: string;
  /** Expected MD5 (hex); default: the official MD5 when `url` is the official address. */
  md5?: string;
  /** `fetch` implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** Download even if the archive is already there (default false). */
  force?: boolean;
}

/** Thrown by `downloadCifar`; the message says where to put the files by hand. */
export class DownloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DownloadError';
  }
}

/**
 * Downloads the official CIFAR binary archive into `dir` (skipped if it is already there) and returns its
 * path. The data goes to a temporary file in `dir`, is checked against the SHA-256 or MD5, and is then
 * renamed into place, so `dir` never holds a partial or unverified archive. `loadCifar({ dir })` reads the
 * archive directly.
 */
export async function downloadCifar(options: DownloadCifarOptions): Promise<string> {
  const { variant, dir } = options;
  const layout = CIFAR_LAYOUTS[variant];
  if (!layout) throw new RangeError(`downloadCifar: unknown variant ${String(variant)}`);
  const official = CIFAR_DOWNLOADS[variant];
  const url = options.url ?? official.url;
  const target = join(dir, layout.archive);
  if (!options.force && (await exists(target))) return target;

  let algorithm: 'sha256' | 'md5' | undefined;
  let expected: string | undefined;
  if (options.sha256) {
    algorithm = 'sha256';
    expected = options.sha256.toLowerCase();
  } else if (options.md5 || url === official.url) {
    algorithm = 'md5';
    expected = (options.md5 ?? official.md5).toLowerCase();
  }

  const manual =
    `Download ${official.url} on a machine with internet access and put ${layout.archive} (or its ` +
    `extracted ${layout.folder}/ folder) in ${dir}; loadCifar({ variant: '${variant}', dir: '${dir}' }) ` +
    `reads either.`;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function')
    throw new DownloadError(`no fetch implementation available. ${manual}`);

  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${layout.archive}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  try {
    let response: Response;
    try {
      response = await fetchImpl(url);
    } catch (error) {
      throw new DownloadError(`cannot reach ${url} (${describe(error)}); are you offline? ${manual}`, {
        cause: error,
      });
    }
    if (!response.ok || !response.body) {
      throw new DownloadError(
        `download of ${url} failed: HTTP ${response.status} ${response.statusText}. ${manual}`,
      );
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    const hash = algorithm ? createHash(algorithm) : undefined;
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        hash?.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
        meter,
        createWriteStream(temp),
      );
    } catch (error) {
      throw new DownloadError(
        `download of ${url} was interrupted after ${received} bytes (${describe(error)}). ${manual}`,
        { cause: error },
      );
    }
    if (Number.isFinite(declared) && received !== declared) {
      throw new DownloadError(`download of ${url} ended after ${received} of ${declared} bytes. ${manual}`);
    }
    if (hash && algorithm && expected) {
      const actual = hash.digest('hex');
      if (actual !== expected) {
        throw new DownloadError(
          `checksum mismatch for ${url}: ${algorithm} is ${actual}, expected ${expected}; the file was ` +
            `discarded. ${manual}`,
        );
      }
    }
    await rename(temp, target);
    return target;
  } finally {
    await rm(temp, { force: true });
  }
}

function describe(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string; code?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message}: ${cause}` : String(e?.message ?? error);
}
