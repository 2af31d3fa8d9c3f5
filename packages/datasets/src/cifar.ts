import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CIFAR_CHANNELS,
  CIFAR_LAYOUTS,
  CIFAR_NAMES_FILES,
  CIFAR_PIXELS,
  CIFAR_SIDE,
  type CifarVariant,
  countCifarRecords,
  decodeCifarRecords,
} from './cifar-format.js';
import {
  CIFAR10_CLASSES,
  CIFAR100_COARSE_CLASSES,
  CIFAR100_FINE_CLASSES,
  parseNamesFile,
} from './class-names.js';
import type { ImageDataset } from './dataset.js';
import { DatasetError } from './errors.js';
import { exists, isDirectory } from './files.js';
import { readTarGzFiles } from './tar-gz.js';

export type Split = 'train' | 'test';

export interface LoadCifarOptions {
  variant: CifarVariant;
  /**
   * A directory holding the data files directly, the extracted official folder
   * (`cifar-10-batches-bin/`, `cifar-100-binary/`) or the official `.tar.gz`; or the path of the `.tar.gz`.
   */
  dir: string;
  split: Split;
  /** CIFAR-100 only: fine (100 classes, default) or coarse (20 superclasses) labels. */
  label?: 'fine' | 'coarse';
}

type Source = { kind: 'dir'; dir: string } | { kind: 'archive'; path: string };

const DISPLAY = { cifar10: 'CIFAR-10', cifar100: 'CIFAR-100' } as const;

async function locate(variant: CifarVariant, dir: string, split: Split): Promise<Source> {
  const layout = CIFAR_LAYOUTS[variant];
  if ((await exists(dir)) && !(await isDirectory(dir))) return { kind: 'archive', path: dir };
  const first = layout.files[split][0];
  if (await exists(join(dir, first))) return { kind: 'dir', dir };
  if (await exists(join(dir, layout.folder, first))) return { kind: 'dir', dir: join(dir, layout.folder) };
  if (await exists(join(dir, layout.archive))) return { kind: 'archive', path: join(dir, layout.archive) };
  const files = layout.files[split];
  const listed = files.length > 1 ? `${files[0]} .. ${files[files.length - 1]}` : files[0];
  throw new DatasetError(
    `${DISPLAY[variant]} ${split} data not found in ${dir}: looked for ${listed} there, in ` +
      `${layout.folder}/, and for ${layout.archive}. Put the official archive (or its extracted folder) ` +
      `there, or call downloadCifar({ variant: '${variant}', dir }) on a machine with internet access.`,
    { file: join(dir, first) },
  );
}

function checkNames(names: string[], expected: number, file: string): string[] {
  if (names.length !== expected) {
    throw new DatasetError(`expected ${expected} class names, found ${names.length}`, { file });
  }
  return names;
}

/**
 * Loads one split of CIFAR-10 or CIFAR-100 (binary version) into memory as NHWC bytes.
 * Throws a `DatasetError` naming the file (and record) for missing, empty, truncated, oversized or
 * out-of-range data; an empty (0-byte) data file is never skipped, so a split always has images.
 */
export async function loadCifar(options: LoadCifarOptions): Promise<ImageDataset> {
  const { variant, dir, split } = options;
  const layout = CIFAR_LAYOUTS[variant];
  if (!layout) throw new RangeError(`loadCifar: unknown variant ${String(variant)}`);
  if (split !== 'train' && split !== 'test')
    throw new RangeError(`loadCifar: unknown split ${String(split)}`);
  const labelKind = options.label ?? 'fine';
  if (labelKind !== 'fine' && labelKind !== 'coarse') {
    throw new RangeError(`loadCifar: label must be 'fine' or 'coarse', got ${String(labelKind)}`);
  }
  if (variant === 'cifar10' && labelKind === 'coarse') {
    throw new RangeError(`loadCifar: CIFAR-10 has no coarse labels`);
  }
  const defaults =
    variant === 'cifar10'
      ? CIFAR10_CLASSES
      : labelKind === 'coarse'
        ? CIFAR100_COARSE_CLASSES
        : CIFAR100_FINE_CLASSES;
  const labelIndex = variant === 'cifar100' && labelKind === 'fine' ? 1 : 0;
  const namesFile = CIFAR_NAMES_FILES[variant][labelKind];
  const dataFiles = layout.files[split];
  const source = await locate(variant, dir, split);

  // Collect (file name for messages, size, contents loader) for every data file of the split.
  let parts: Array<{ file: string; size: number; read: () => Promise<Uint8Array> }>;
  let classNames: string[];
  if (source.kind === 'dir') {
    parts = [];
    for (const name of dataFiles) {
      const file = join(source.dir, name);
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch {
        throw new DatasetError(`missing ${DISPLAY[variant]} file`, { file });
      }
      parts.push({ file, size, read: () => readFile(file) });
    }
    const namesPath = join(source.dir, namesFile);
    classNames = (await exists(namesPath))
      ? checkNames(parseNamesFile(await readFile(namesPath, 'utf8')), defaults.length, namesPath)
      : [...defaults];
  } else {
    const wanted = new Set<string>([...dataFiles, namesFile]);
    const found = await readTarGzFiles(source.path, (base) => wanted.has(base));
    parts = dataFiles.map((name) => {
      const contents = found.get(name);
      const file = `${source.path}:${layout.folder}/${name}`;
      if (!contents) throw new DatasetError(`missing ${DISPLAY[variant]} file in archive`, { file });
      return { file, size: contents.length, read: async () => contents };
    });
    const names = found.get(namesFile);
    classNames = names
      ? checkNames(parseNamesFile(names.toString('utf8')), defaults.length, `${source.path}:${namesFile}`)
      : [...defaults];
  }

  const counts = parts.map((p) => countCifarRecords(variant, p.size, p.file, layout.maxRecords[split]));
  const count = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(count * CIFAR_PIXELS);
  const labels = new Int32Array(count);
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    const bytes = await parts[i].read();
    if (bytes.length !== parts[i].size) {
      throw new DatasetError(`file changed while reading`, { file: parts[i].file });
    }
    offset += decodeCifarRecords(
      variant,
      bytes,
      parts[i].file,
      labelIndex,
      classNames.length,
      images,
      labels,
      offset,
    );
  }
  return { images, labels, count, shape: [CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS], classNames };
}
