import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as main from '../src/index';
import * as nodeEntry from '../src/node';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('entry points', () => {
  it('the main entry imports nothing from Node (no node:*, no Buffer, no process)', () => {
    const browser = sources(SRC).filter((f) => {
      const rel = relative(SRC, f).split('\\').join('/');
      return !rel.startsWith('node/') && rel !== 'node.ts';
    });
    expect(browser.length).toBeGreaterThan(10);
    for (const f of browser) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/from '(node:|fs|path|os|crypto)/);
      expect(text, f).not.toMatch(/\b(Buffer|process)\./);
      expect(text, f).not.toMatch(/from '\.\/node|from '\.\.\/node/);
    }
  });

  it('@bmp/runlog/node re-exports the whole main entry', () => {
    for (const key of Object.keys(main)) expect(nodeEntry, key).toHaveProperty(key);
    expect(Object.keys(nodeEntry)).toEqual(
      expect.arrayContaining([
        'JsonlWriter',
        'MetricsWriter',
        'TensorBoardWriter',
        'writeJsonAtomic',
        'listRuns',
      ]),
    );
  });
});
