import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '@bmp/random';

/** `n` bytes uniform in [0, 255], from `seed`. */
export function randomBytes(n: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** `n` labels uniform in [0, classes), from `seed`. */
export function randomLabels(n: number, classes: number, seed: number): number[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(rand() * classes));
}

/** A fresh temporary directory, and a function removing it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bmp-datasets-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
