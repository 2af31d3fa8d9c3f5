/** `--dataset folder`: one subfolder per class of PNG/JPEG images (pure-JS decoders: pngjs, jpeg-js). */
import { promises as fs } from 'node:fs';
import { extname, join } from 'node:path';
import type { ImageDataset } from '@bmp/datasets';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export class FolderDatasetError extends Error {
  override name = 'FolderDatasetError';
}

interface Decoded {
  width: number;
  height: number;
  rgba: Uint8Array;
}

function decode(file: string, bytes: Buffer): Decoded {
  const ext = extname(file).toLowerCase();
  try {
    if (ext === '.png') {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new FolderDatasetError(`${file}: cannot decode image: ${(e as Error).message}`);
  }
}

async function listDirs(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/**
 * Class names (sorted subfolder names) and files, for one folder with one subfolder per class.
 *
 * Empty class folders (no .png/.jpg/.jpeg image; other files do not count): refused when
 * `classNames` is not given, i.e. in `train/` or the flat layout, where a class without images would
 * silently become a class the model is never trained on. Given `classNames` (`test/`, whose classes are
 * those of `train/`), a class folder may be empty (that class is just not tested), but the folder as a
 * whole must hold at least one image.
 */
async function listClasses(
  dir: string,
  classNames?: string[],
): Promise<{ classNames: string[]; files: Array<[string, number]> }> {
  const names = classNames ?? (await listDirs(dir));
  if (names.length < 2)
    throw new FolderDatasetError(`${dir}: needs at least two class subfolders, found ${names.length}`);
  const files: Array<[string, number]> = [];
  const empty: string[] = [];
  for (const [label, name] of names.entries()) {
    let entries: string[];
    try {
      entries = (await fs.readdir(join(dir, name))).sort();
    } catch {
      throw new FolderDatasetError(`${dir}: class folder '${name}' is missing`);
    }
    const before = files.length;
    for (const f of entries)
      if (EXTENSIONS.has(extname(f).toLowerCase())) files.push([join(dir, name, f), label]);
    if (files.length === before) empty.push(name);
  }
  if (files.length === 0)
    throw new FolderDatasetError(`${dir}: no .png/.jpg/.jpeg images in the class folders`);
  if (classNames === undefined && empty.length > 0) {
    const others = empty.length > 1 ? ` (also empty: ${empty.slice(1).join(', ')})` : '';
    throw new FolderDatasetError(
      `${join(dir, empty[0])}: class folder has no .png/.jpg/.jpeg images; remove it or add images${others}`,
    );
  }
  return { classNames: names, files };
}

async function decodeAll(
  files: Array<[string, number]>,
  classNames: string[],
  channels: 1 | 3,
): Promise<ImageDataset> {
  let shape: [number, number, number] | null = null;
  let images: Uint8Array | null = null;
  const labels = new Int32Array(files.length);
  for (const [i, [file, label]] of files.entries()) {
    const img = decode(file, await fs.readFile(file));
    if (shape == null) {
      shape = [img.height, img.width, channels];
      images = new Uint8Array(files.length * img.height * img.width * channels);
    } else if (img.height !== shape[0] || img.width !== shape[1]) {
      throw new FolderDatasetError(
        `${file}: image is ${img.width}x${img.height}, the first image was ${shape[1]}x${shape[0]}; all images must have the same size`,
      );
    }
    const n = img.width * img.height;
    const base = i * n * channels;
    for (let p = 0; p < n; p++) {
      const r = img.rgba[4 * p];
      const g = img.rgba[4 * p + 1];
      const b = img.rgba[4 * p + 2];
      if (channels === 1) images![base + p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      else {
        images![base + 3 * p] = r;
        images![base + 3 * p + 1] = g;
        images![base + 3 * p + 2] = b;
      }
    }
    labels[i] = label;
  }
  return { images: images!, labels, count: files.length, shape: shape!, classNames };
}

async function isGray(files: Array<[string, number]>): Promise<boolean> {
  const [file] = files[0];
  const img = decode(file, await fs.readFile(file));
  for (let p = 0; p < img.width * img.height; p++) {
    if (img.rgba[4 * p] !== img.rgba[4 * p + 1] || img.rgba[4 * p] !== img.rgba[4 * p + 2]) return false;
  }
  return true;
}

/**
 * Loads `dir`. If it has `train/` and `test/` subfolders, each holds one subfolder per class; otherwise
 * `dir` holds the class subfolders and `test` is null (the caller splits). Images are RGB, or one channel
 * when the first image is grey. Every class folder of `train/` (or of the flat `dir`) needs an image; in
 * `test/` one may be empty as long as `test/` has an image (see `listClasses`).
 */
export async function loadImageFolder(
  dir: string,
): Promise<{ train: ImageDataset; test: ImageDataset | null }> {
  let top: string[];
  try {
    top = await listDirs(dir);
  } catch {
    throw new FolderDatasetError(`--data-dir ${dir}: not a readable directory`);
  }
  if (top.includes('train') && top.includes('test')) {
    const tr = await listClasses(join(dir, 'train'));
    const te = await listClasses(join(dir, 'test'), tr.classNames);
    const channels = (await isGray(tr.files)) ? 1 : 3;
    return {
      train: await decodeAll(tr.files, tr.classNames, channels),
      test: await decodeAll(te.files, tr.classNames, channels),
    };
  }
  const all = await listClasses(dir);
  const channels = (await isGray(all.files)) ? 1 : 3;
  return { train: await decodeAll(all.files, all.classNames, channels), test: null };
}
