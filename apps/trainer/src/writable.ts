/**
 * Checks, before any work, that the trainer can write where it will write (a run's log directory,
 * analyze's report), so that a read-only or missing place is one clear error up front instead of an
 * ENOENT after the computation.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errnoReason, FileSystemError } from './errors';

/** The nearest ancestor of `path` that exists. */
function existingAncestor(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

async function probe(dir: string): Promise<void> {
  const file = join(dir, `.bmp-write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.writeFile(file, '');
  await fs.rm(file, { force: true });
}

/**
 * Creates `dir` (and its parents) if needed and checks that files can be created in it. `what` names
 * the flag it came from ("--log-dir"). Throws a FileSystemError naming the directory at fault.
 */
export async function ensureWritableDir(dir: string, what: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    // mkdir's error can name the wrong cause (ENOENT for a parent that is not writable): ask the parent
    const parent = existingAncestor(dir);
    if (!statSync(parent).isDirectory())
      throw new FileSystemError(`${what} ${dir}: cannot create it: ${parent} is a file, not a directory`);
    try {
      await probe(parent);
    } catch (p) {
      throw new FileSystemError(
        `${what} ${dir}: cannot create it: ${parent} is not writable (${errnoReason(p)})`,
      );
    }
    throw new FileSystemError(`${what} ${dir}: cannot create it (${errnoReason(e)})`);
  }
  if (!statSync(dir).isDirectory()) throw new FileSystemError(`${what} ${dir}: not a directory`);
  try {
    await probe(dir);
  } catch (e) {
    throw new FileSystemError(`${what} ${dir}: not writable (${errnoReason(e)}); choose another ${what}`);
  }
}

/** Checks that `file` can be written (its directory exists and is writable, and it is not a directory). */
export async function ensureWritableFile(file: string, what: string): Promise<void> {
  if (existsSync(file) && statSync(file).isDirectory())
    throw new FileSystemError(`${what} ${file}: is a directory; give a file name`);
  const dir = dirname(file);
  if (!existsSync(dir)) throw new FileSystemError(`${what} ${file}: the directory ${dir} does not exist`);
  await ensureWritableDir(dir, what);
}
