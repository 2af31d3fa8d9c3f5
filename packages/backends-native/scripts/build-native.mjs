// Compiles src/native/addon.cc into build/bmp_backends_native.node for this machine (-march=native).
//
// Runs at install (npm) and in the monorepo build. Needs a C++17 compiler ($CXX, c++, g++ or clang++);
// the Node-API headers come from the node-api-headers package, so no Node.js source download is needed.
// Without a compiler it prints why and exits 0 (BMP_REQUIRE_NATIVE=1: exits 1): @bmp/backends then runs
// its WebAssembly kernels. The output is written to a temporary file and renamed, so an interrupted build
// never leaves a broken addon behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPILER_CANDIDATES_TEXT, findCompiler } from './find-compiler.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['src/native/addon.cc'];
const HEADERS = [
  'src/native/batch-norm.h',
  'src/native/conv.h',
  'src/native/elementwise.h',
  'src/native/pool.h',
  'src/native/thread-pool.h',
];
const OUT = join(ROOT, 'build', 'bmp_backends_native.node');
const required = process.env.BMP_REQUIRE_NATIVE === '1';

function fail(message) {
  const text = `@bmp/backends-native: ${message}`;
  if (required) {
    console.error(`${text} (BMP_REQUIRE_NATIVE=1, so this is an error)`);
    process.exit(1);
  }
  console.warn(`${text}; @bmp/backends will use its WebAssembly kernels instead.`);
  process.exit(0);
}

function upToDate() {
  if (!existsSync(OUT)) return false;
  const built = statSync(OUT).mtimeMs;
  return [...SOURCES, ...HEADERS, 'scripts/build-native.mjs'].every(
    (f) => statSync(join(ROOT, f)).mtimeMs <= built,
  );
}

if (process.env.BMP_SKIP_NATIVE === '1') fail('BMP_SKIP_NATIVE=1, not compiling the native kernels');
if (upToDate() && !process.argv.includes('--force')) {
  console.log(`@bmp/backends-native: ${OUT} is up to date`);
  process.exit(0);
}
const compiler = findCompiler();
if (compiler == null) fail(`no C++ compiler found (${COMPILER_CANDIDATES_TEXT})`);

const require = createRequire(import.meta.url);
const includeDir = require('node-api-headers').include_dir;
const tmp = `${OUT}.${process.pid}.tmp`;
const args = [
  '-O3',
  '-march=native',
  '-std=c++17',
  '-shared',
  '-fPIC',
  '-pthread',
  '-fvisibility=hidden',
  '-DNAPI_VERSION=8',
  `-I${includeDir}`,
  ...SOURCES.map((s) => join(ROOT, s)),
  '-o',
  tmp,
];
if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
mkdirSync(dirname(OUT), { recursive: true });
const started = Date.now();
const r = spawnSync(compiler.cxx, args, { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  fail(`compiling with ${compiler.cxx} failed (exit ${r.status ?? r.signal})`);
}
renameSync(tmp, OUT);
console.log(`@bmp/backends-native: built ${OUT} with ${compiler.version} in ${Date.now() - started} ms`);
