import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// @bmp/spectra is plain float64 JavaScript: it must work without tfjs installed or loaded. Its one
// operator type is filled with tfjs products by @bmp/backmatching's `tfOperator`, outside this package.

const root = join(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

// The tridiagonal matrix [[2, -1, 0], [-1, 2, -1], [0, -1, 2]]: eigenvalues 2 - sqrt(2), 2, 2 + sqrt(2).
const EIGEN_CHECK = `
const data = Float64Array.of(2, -1, 0, -1, 2, -1, 0, -1, 2);
const got = Array.from(spectra.symmetricEigenvalues({ dim: 3, data }));
const want = [2 - Math.SQRT2, 2, 2 + Math.SQRT2];
if (got.some((v, i) => Math.abs(v - want[i]) > 1e-12)) throw new Error('eigenvalues ' + got);
`;

// Fails the ESM run on any import of a @tensorflow/ module (a resolve hook registered before loading).
const NO_TFJS_HOOK = `data:text/javascript,${encodeURIComponent(
  "import { register } from 'node:module';" +
    `register(${JSON.stringify(
      `data:text/javascript,${encodeURIComponent(
        "export async function resolve(s, c, next) { if (s.startsWith('@tensorflow/')) throw new Error('tfjs imported: ' + s); return next(s, c); }",
      )}`,
    )});`,
)}`;

describe('@bmp/spectra without tfjs', () => {
  it('no source file imports @tensorflow/*', () => {
    const offenders = sourceFiles(join(root, 'src')).filter((file) =>
      /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]@tensorflow\//.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('package.json names no tfjs package (dependency, peer, optional or dev)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
      expect(
        Object.keys(pkg[field] ?? {}).filter((name) => name.startsWith('@tensorflow/')),
        field,
      ).toEqual([]);
    }
  });

  it('the built ESM and CJS entries load without tfjs and compute eigenvalues', () => {
    for (const file of ['dist/index.js', 'dist/index.cjs']) {
      expect(existsSync(join(root, file)), `${file} missing: build the package first`).toBe(true);
      expect(readFileSync(join(root, file), 'utf8')).not.toContain('@tensorflow');
    }
    // Imported by name (the package's exports map, self-referenced from its own folder), in fresh processes.
    execFileSync(
      process.execPath,
      [
        '--import',
        NO_TFJS_HOOK,
        '--input-type=module',
        '-e',
        `import * as spectra from '@bmp/spectra';${EIGEN_CHECK}`,
      ],
      { cwd: root, stdio: 'pipe' },
    );
    const loaded = execFileSync(
      process.execPath,
      [
        '--input-type=commonjs',
        '-e',
        `const spectra = require('@bmp/spectra');${EIGEN_CHECK}
if (!require.resolve('@bmp/spectra').endsWith('index.cjs')) throw new Error(require.resolve('@bmp/spectra'));
process.stdout.write(JSON.stringify(Object.keys(require.cache)));`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    const modules: string[] = JSON.parse(loaded);
    expect(modules.some((m) => m.endsWith(join('spectra', 'dist', 'index.cjs')))).toBe(true);
    expect(modules.filter((m) => m.includes('@tensorflow'))).toEqual([]);
  });
});
