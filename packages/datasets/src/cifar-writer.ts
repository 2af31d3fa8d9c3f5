import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  CIFAR_LAYOUTS,
  CIFAR_NAMES_FILES,
  CIFAR_PIXELS,
  type CifarSplitData,
  type CifarVariant,
  encodeCifar,
} from './cifar-format.js';
import { CIFAR10_CLASSES, CIFAR100_COARSE_CLASSES, CIFAR100_FINE_CLASSES } from './class-names.js';
import { writeTarGz } from './tar-gz.js';

/** A whole CIFAR dataset to write in the official binary layout (for tests and fixtures). */
export interface CifarFixture {
  variant: CifarVariant;
  /**
   * CIFAR-10: spread over the five batch files, so give at least 5 images; with fewer, some batch files
   * are written empty, which `loadCifar` refuses.
   */
  train?: CifarSplitData;
  test?: CifarSplitData;
  /** CIFAR-10 names or CIFAR-100 fine names (default: the official ones). */
  classNames?: readonly string[];
  /** CIFAR-100 coarse names (default: the official ones). */
  coarseClassNames?: readonly string[];
  /** Write the label-names files (default true). */
  namesFiles?: boolean;
}

/** Writes one split's images (NHWC) and labels to `path` as CIFAR binary records. */
export async function writeCifarBinary(
  path: string,
  variant: CifarVariant,
  data: CifarSplitData,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, encodeCifar(variant, data));
}

function slice(data: CifarSplitData, start: number, end: number): CifarSplitData {
  const labels = Array.from(data.labels).slice(start, end);
  return {
    images: data.images.subarray(start * CIFAR_PIXELS, end * CIFAR_PIXELS),
    labels,
    coarseLabels: data.coarseLabels ? Array.from(data.coarseLabels).slice(start, end) : undefined,
  };
}

/** The files of `fixture` as [name, contents] pairs, CIFAR-10 training data spread over the 5 batches. */
function fixtureFiles(fixture: CifarFixture): Array<[string, Uint8Array]> {
  const { variant } = fixture;
  const layout = CIFAR_LAYOUTS[variant];
  const out: Array<[string, Uint8Array]> = [];
  for (const split of ['train', 'test'] as const) {
    const data = fixture[split];
    if (!data) continue;
    const names = layout.files[split];
    const n = data.labels.length;
    names.forEach((name, k) => {
      const start = Math.floor((k * n) / names.length);
      const end = Math.floor(((k + 1) * n) / names.length);
      out.push([name, encodeCifar(variant, slice(data, start, end))]);
    });
  }
  if (fixture.namesFiles ?? true) {
    const text = (names: readonly string[]) => new TextEncoder().encode(`${names.join('\n')}\n`);
    if (variant === 'cifar10') {
      out.push([CIFAR_NAMES_FILES.cifar10.fine, text(fixture.classNames ?? CIFAR10_CLASSES)]);
    } else {
      out.push([
        CIFAR_NAMES_FILES.cifar100.coarse,
        text(fixture.coarseClassNames ?? CIFAR100_COARSE_CLASSES),
      ]);
      out.push([CIFAR_NAMES_FILES.cifar100.fine, text(fixture.classNames ?? CIFAR100_FINE_CLASSES)]);
    }
  }
  return out;
}

/**
 * Writes `fixture` as the files of the official archive, directly into `dir`. Returns the paths written.
 */
export async function writeCifarDirectory(dir: string, fixture: CifarFixture): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [name, contents] of fixtureFiles(fixture)) {
    const path = join(dir, name);
    await writeFile(path, contents);
    paths.push(path);
  }
  return paths;
}

/**
 * Writes `fixture` as a `.tar.gz` laid out like the official archive (`cifar-10-batches-bin/...` or
 * `cifar-100-binary/...`).
 */
export async function writeCifarArchive(path: string, fixture: CifarFixture): Promise<void> {
  const folder = CIFAR_LAYOUTS[fixture.variant].folder;
  await mkdir(dirname(path), { recursive: true });
  await writeTarGz(
    path,
    fixtureFiles(fixture).map(([name, contents]) => [`${folder}/${name}`, contents]),
  );
}
