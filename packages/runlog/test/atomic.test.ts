import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AtomicFileOps,
  createFileAtomicSync,
  RunlogSchemaError,
  readJsonFile,
  readRunConfig,
  runConfigSchema,
  safeParseRunConfig,
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomic,
  writeJsonAtomicSync,
} from '../src/node';
import { runConfig } from './fixtures';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'runlog-atomic-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const files = () => fs.readdirSync(dir).sort();
const OLD = `${JSON.stringify({ version: 'old' }, null, 2)}\n`;
const BIG = { values: Array.from({ length: 50_000 }, (_, i) => i) };

/** Real fs ops whose file handle writes the first half of what it is given, then fails (a full disk). */
function failingHalfway(): Partial<AtomicFileOps> {
  return {
    open: async (path, flags, mode) => {
      const h = await fsp.open(path, flags, mode);
      return {
        write: async (buf, off, len, pos) => {
          await h.write(buf, off, Math.floor(len / 2), pos);
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
        sync: () => h.sync(),
        close: () => h.close(),
      };
    },
  };
}

describe('writeJsonAtomic', () => {
  it('writes pretty JSON with a final newline and leaves no temp file', async () => {
    const file = join(dir, 'config.json');
    await writeJsonAtomic(file, runConfig());
    expect(files()).toEqual(['config.json']);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${JSON.stringify(runConfig(), null, 2)}\n`);
    expect(await readRunConfig(file)).toEqual(runConfig());
  });

  it('creates missing parent directories', async () => {
    await writeJsonAtomic(join(dir, 'a', 'b', 'x.json'), [1]);
    writeJsonAtomicSync(join(dir, 'c', 'y.json'), [2]);
    expect(await readJsonFile(join(dir, 'a', 'b', 'x.json'))).toEqual([1]);
    expect(await readJsonFile(join(dir, 'c', 'y.json'))).toEqual([2]);
  });

  it('replaces an existing file', async () => {
    const file = join(dir, 'latest.json');
    fs.writeFileSync(file, OLD);
    await writeJsonAtomic(file, { checkpoint: 'epoch-2' });
    expect(await readJsonFile(file)).toEqual({ checkpoint: 'epoch-2' });
    expect(files()).toEqual(['latest.json']);
  });

  it('a write failing halfway leaves the old file intact and no temp file', async () => {
    const file = join(dir, 'state.json');
    fs.writeFileSync(file, OLD);
    await expect(writeJsonAtomic(file, BIG, { ops: failingHalfway() })).rejects.toThrow(/ENOSPC/);
    expect(fs.readFileSync(file, 'utf8')).toBe(OLD);
    expect(files()).toEqual(['state.json']);
  });

  it('a write failing halfway on a new file leaves no file at all', async () => {
    const file = join(dir, 'new.json');
    await expect(writeJsonAtomic(file, BIG, { ops: failingHalfway() })).rejects.toThrow(/ENOSPC/);
    expect(files()).toEqual([]);
  });

  it('a failing rename leaves the old file and removes the temp file', async () => {
    const file = join(dir, 'state.json');
    fs.writeFileSync(file, OLD);
    const ops: Partial<AtomicFileOps> = {
      rename: async () => {
        throw new Error('EXDEV: cross-device link not permitted');
      },
    };
    await expect(writeFileAtomic(file, 'new', { ops })).rejects.toThrow(/EXDEV/);
    expect(fs.readFileSync(file, 'utf8')).toBe(OLD);
    expect(files()).toEqual(['state.json']);
  });

  it('a failing fsync also aborts before the rename', async () => {
    const file = join(dir, 'state.json');
    fs.writeFileSync(file, OLD);
    const ops: Partial<AtomicFileOps> = {
      open: async (p, f, m) => {
        const h = await fsp.open(p, f, m);
        return {
          write: (b, o, l, pos) => h.write(b, o, l, pos),
          sync: async () => {
            throw new Error('EIO: i/o error, fsync');
          },
          close: () => h.close(),
        };
      },
    };
    await expect(writeFileAtomic(file, 'new', { ops })).rejects.toThrow(/EIO/);
    expect(fs.readFileSync(file, 'utf8')).toBe(OLD);
    expect(files()).toEqual(['state.json']);
  });

  it('with a schema, refuses an invalid value and writes nothing', async () => {
    const file = join(dir, 'config.json');
    await expect(
      writeJsonAtomic(file, { ...runConfig(), seed: 'x' }, { schema: runConfigSchema }),
    ).rejects.toThrow(RunlogSchemaError);
    expect(files()).toEqual([]);
  });

  it('readJsonFile names the file and the field', async () => {
    const file = join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ ...runConfig(), seed: 'x' }));
    await expect(readJsonFile(file, safeParseRunConfig)).rejects.toThrow(`${file}: seed: `);
    fs.writeFileSync(file, '{"runName": ');
    await expect(readJsonFile(file)).rejects.toThrow(/not valid JSON/);
  });
});

describe('writeJsonAtomicSync', () => {
  it('writes, and on a failing write leaves the old file and no temp file', () => {
    const file = join(dir, 'state.json');
    writeJsonAtomicSync(file, { a: 1 });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ a: 1 });
    const before = fs.readFileSync(file, 'utf8');
    const writeSync = (fd: number, b: Uint8Array, o: number, l: number, p: number | null) => {
      fs.writeSync(fd, b, o, Math.floor(l / 2), p);
      throw new Error('ENOSPC: no space left on device, write');
    };
    expect(() => writeFileAtomicSync(file, JSON.stringify(BIG), { ops: { writeSync } })).toThrow(/ENOSPC/);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(files()).toEqual(['state.json']);
  });
});

describe('createFileAtomicSync', () => {
  it('creates a file whole, and never replaces an existing one', () => {
    const file = join(dir, 'events');
    expect(createFileAtomicSync(file, 'first')).toBe(true);
    expect(createFileAtomicSync(file, 'second')).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe('first');
    expect(files()).toEqual(['events']);
  });
});
