import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR_DOWNLOADS, DownloadError, downloadCifar, loadCifar } from '../src';
import { writeCifarArchive } from '../src/testing';
import { randomBytes, randomLabels, tempDir } from './fixtures';

// Every request goes to a server on 127.0.0.1 or to an injected fetch: these tests never reach the internet.
let root: string;
let cleanup: () => Promise<void>;
let archive: Buffer;
let sha256: string;
let md5: string;
let server: Server;
let base: string;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
  const path = join(root, 'source.tar.gz');
  await writeCifarArchive(path, {
    variant: 'cifar10',
    // Random pixels do not compress: the archive is ~370 kB, enough for several chunks on the wire.
    train: { images: randomBytes(100 * 3072, 31), labels: randomLabels(100, 10, 32) },
    test: { images: randomBytes(20 * 3072, 33), labels: randomLabels(20, 10, 34) },
  });
  archive = await readFile(path);
  sha256 = createHash('sha256').update(archive).digest('hex');
  md5 = createHash('md5').update(archive).digest('hex');
  server = createServer((req, res) => {
    if (req.url === '/cifar-10-binary.tar.gz') {
      res.writeHead(200, { 'content-length': archive.length, 'content-type': 'application/gzip' });
      res.end(archive);
    } else if (req.url === '/dies-midway.tar.gz') {
      // Announce the whole archive, send a third of it, then drop the connection.
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, Math.floor(archive.length / 3)), () => {
        setTimeout(() => res.socket?.destroy(), 20);
      });
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await cleanup();
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('downloadCifar against a local HTTP server', () => {
  it('good checksum (sha256): the archive lands in dir under its official name and loads', async () => {
    const dir = join(root, 'good');
    const path = await downloadCifar({
      variant: 'cifar10',
      dir,
      url: `${base}/cifar-10-binary.tar.gz`,
      sha256,
    });
    expect(path).toBe(join(dir, 'cifar-10-binary.tar.gz'));
    expect(await readdir(dir)).toEqual(['cifar-10-binary.tar.gz']); // no temporary file left
    expect((await readFile(path)).equals(archive)).toBe(true);
    const ds = await loadCifar({ variant: 'cifar10', dir, split: 'test' });
    expect(ds.count).toBe(20);
  });

  it('good md5, through an injected fetch; a second call finds the file and does not fetch', async () => {
    const dir = join(root, 'md5');
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const options = {
      variant: 'cifar10' as const,
      dir,
      url: `${base}/cifar-10-binary.tar.gz`,
      md5,
      fetch: counting,
    };
    await downloadCifar(options);
    await downloadCifar(options);
    expect(calls).toBe(1);
  });

  it('bad checksum: rejects and leaves no file behind', async () => {
    const dir = join(root, 'bad');
    const error = await failure(
      downloadCifar({
        variant: 'cifar10',
        dir,
        url: `${base}/cifar-10-binary.tar.gz`,
        sha256: '0'.repeat(64),
      }),
    );
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.message).toMatch(/checksum mismatch .*sha256 is [0-9a-f]{64}, expected 0{64}/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('server dies mid-transfer: rejects and leaves no partial file', async () => {
    const dir = join(root, 'dies');
    const error = await failure(
      downloadCifar({ variant: 'cifar10', dir, url: `${base}/dies-midway.tar.gz`, sha256 }),
    );
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.message).toMatch(/interrupted after \d+ bytes|ended after \d+ of \d+ bytes/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('HTTP error status: rejects, no file', async () => {
    const dir = join(root, 'status');
    const error = await failure(downloadCifar({ variant: 'cifar100', dir, url: `${base}/missing.tar.gz` }));
    expect(error.message).toMatch(/HTTP 404/);
    expect(error.message).toMatch(
      /put cifar-100-binary\.tar\.gz \(or its extracted cifar-100-binary\/ folder\)/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('offline (connection refused): says where to put the files by hand', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dir = join(root, 'offline');
    const error = await failure(
      downloadCifar({ variant: 'cifar10', dir, url: `http://127.0.0.1:${port}/cifar-10-binary.tar.gz` }),
    );
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.message).toMatch(/cannot reach .* are you offline\?/);
    expect(error.message).toContain(CIFAR_DOWNLOADS.cifar10.url);
    expect(error.message).toContain(
      `put cifar-10-binary.tar.gz (or its extracted cifar-10-batches-bin/ folder) in ${dir}`,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('official URL: checked with the official MD5 (the request is answered by an injected fetch)', async () => {
    const dir = join(root, 'official');
    const requested: string[] = [];
    const fake: typeof fetch = async (input) => {
      requested.push(String(input));
      return new Response(new Uint8Array(archive), { status: 200 });
    };
    const error = await failure(downloadCifar({ variant: 'cifar100', dir, fetch: fake }));
    expect(requested).toEqual([CIFAR_DOWNLOADS.cifar100.url]);
    expect(error.message).toMatch(new RegExp(`md5 is ${md5}, expected ${CIFAR_DOWNLOADS.cifar100.md5}`));
    expect(await readdir(dir)).toEqual([]);
  });
});
