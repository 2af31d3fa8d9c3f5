// scripts/find-compiler.mjs: the one definition of the compiler lookup (the install script, the pack
// check and CI use it): the first of $CXX, c++, g++, clang++ whose --version runs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'find-compiler.mjs');

function run(env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', env });
}

describe('find-compiler.mjs', () => {
  it('skips a $CXX that does not run and falls back to c++, g++, clang++ (or says none is there)', () => {
    const r = run({ ...process.env, CXX: '/nonexistent/bmp-cxx' });
    if (r.status === 0) {
      const [cxx] = r.stdout.trim().split('\t');
      expect(['c++', 'g++', 'clang++']).toContain(cxx);
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('no C++ compiler found ($CXX, c++, g++, clang++)');
    }
  });

  it('finds nothing on an empty PATH without $CXX', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '' };
    delete env.CXX;
    const r = run(env);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
  });
});
