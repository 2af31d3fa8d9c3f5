import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { FolderDatasetError, loadImageFolder } from '../src/folder-dataset';
import { tempDir } from './helpers';

function png(w: number, h: number, rgb: [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([...rgb, 255], 4 * i);
  return PNG.sync.write(p);
}

describe('--dataset folder', () => {
  it('reads one subfolder per class of PNG and JPEG images (sorted class names as labels)', async () => {
    const dir = tempDir();
    for (const [c, color] of [
      ['cat', [200, 10, 10]],
      ['dog', [10, 200, 10]],
    ] as const) {
      mkdirSync(join(dir, c));
      for (let i = 0; i < 3; i++)
        writeFileSync(join(dir, c, `${i}.png`), png(4, 5, [...color] as [number, number, number]));
    }
    const data = new Uint8Array(4 * 5 * 4).fill(128);
    writeFileSync(join(dir, 'dog', 'x.jpg'), jpeg.encode({ data, width: 4, height: 5 }, 95).data);
    writeFileSync(join(dir, 'dog', 'notes.txt'), 'ignored');
    const { train, test } = await loadImageFolder(dir);
    expect(test).toBeNull();
    expect(train.classNames).toEqual(['cat', 'dog']);
    expect(train.shape).toEqual([5, 4, 3]);
    expect(Array.from(train.labels)).toEqual([0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(train.images.subarray(0, 3))).toEqual([200, 10, 10]);
  });

  it('uses train/ and test/ when present, and names the file of a wrong-sized image', async () => {
    const dir = tempDir();
    for (const split of ['train', 'test']) {
      for (const c of ['a', 'b']) {
        mkdirSync(join(dir, split, c), { recursive: true });
        writeFileSync(join(dir, split, c, '1.png'), png(3, 3, [50, 50, 50]));
      }
    }
    const { train, test } = await loadImageFolder(dir);
    expect(train.shape).toEqual([3, 3, 1]); // grey images: one channel
    expect(test?.count).toBe(2);
    writeFileSync(join(dir, 'train', 'b', '2.png'), png(4, 3, [50, 50, 50]));
    await expect(loadImageFolder(dir)).rejects.toThrow(/2\.png: image is 4x3, the first image was 3x3/);
  });

  it('refuses an empty class folder (flat layout), naming it; non-images do not count', async () => {
    const dir = tempDir();
    for (const c of ['cat', 'dog', 'emu', 'fox']) mkdirSync(join(dir, c));
    writeFileSync(join(dir, 'cat', '1.png'), png(2, 2, [9, 9, 9]));
    writeFileSync(join(dir, 'emu', '1.png'), png(2, 2, [9, 9, 9]));
    writeFileSync(join(dir, 'dog', 'notes.txt'), 'not an image');
    const error = await loadImageFolder(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FolderDatasetError);
    expect((error as Error).message).toContain(
      `${join(dir, 'dog')}: class folder has no .png/.jpg/.jpeg images; remove it or add images (also empty: fox)`,
    );
  });

  it('refuses an empty class folder in train/, allows one in test/ while test/ has images', async () => {
    const dir = tempDir();
    for (const split of ['train', 'test'])
      for (const c of ['a', 'b']) mkdirSync(join(dir, split, c), { recursive: true });
    writeFileSync(join(dir, 'train', 'a', '1.png'), png(2, 2, [9, 9, 9]));
    writeFileSync(join(dir, 'test', 'a', '1.png'), png(2, 2, [9, 9, 9]));
    const error = await loadImageFolder(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FolderDatasetError);
    expect((error as Error).message).toContain(
      `${join(dir, 'train', 'b')}: class folder has no .png/.jpg/.jpeg images`,
    );

    writeFileSync(join(dir, 'train', 'b', '1.png'), png(2, 2, [9, 9, 9]));
    const { train, test } = await loadImageFolder(dir); // test/b is empty: allowed
    expect(train.count).toBe(2);
    expect(test?.count).toBe(1);
    expect(test?.classNames).toEqual(['a', 'b']);

    rmSync(join(dir, 'test', 'a', '1.png')); // no test images at all: refused
    await expect(loadImageFolder(dir)).rejects.toThrow(
      `${join(dir, 'test')}: no .png/.jpg/.jpeg images in the class folders`,
    );
  });
});
