// Compiles src/native/addon.cc once per instruction-set variant (scripts/native-target.mjs: x64 baseline
// x86-64-v2, avx2 x86-64-v3, avx512 x86-64-v4; arm64 baseline armv8-a) and writes manifest.json beside
// the binaries; the loader picks the variant the CPU supports at run time.
//
//   node scripts/build-native.mjs             # install: nothing to do when a prebuild fits this host;
//                                             # else compiles into build/ (variants the compiler can build)
//   node scripts/build-native.mjs --prebuild  # monorepo and release build (and install in the
//                                             # workspace): prebuilds/<platform>-<arch>/, every variant
//                                             # must compile
//   --force                                   # compile even when the output is up to date
//
// Needs a C++17 compiler ($CXX, c++, g++ or clang++); the Node-API headers come from node-api-headers.
// Without a compiler (or with BMP_SKIP_NATIVE=1) it prints why and exits 0 (BMP_REQUIRE_NATIVE=1: exit 1):
// @bmp/backends then runs its WebAssembly kernels. Binaries are written to temporary files and renamed,
// and the manifest last, so an interrupted build never leaves a binary that its manifest vouches for.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPILER_CANDIDATES_TEXT, findCompiler } from './find-compiler.mjs';
import {
  checkManifest,
  MANIFEST_FILE,
  readManifest,
  verifyBinary,
  writeManifest,
} from './native-manifest.mjs';
import {
  addonFileName,
  compareVersions,
  fileHash,
  hostTarget,
  NAPI_VERSION,
  prebuildDirName,
  sourceHash,
  variantsFor,
} from './native-target.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.BMP_REQUIRE_NATIVE === '1';
// In the workspace (a checkout, with src/index.ts; the tarball ships only src/native) the install
// builds what the monorepo build would, so that the build finds it up to date.
const prebuild = process.argv.includes('--prebuild') || existsSync(join(ROOT, 'src', 'index.ts'));
const force = process.argv.includes('--force');
const host = hostTarget();
const prebuildDir = join(ROOT, 'prebuilds', prebuildDirName(host));
const outDir = prebuild ? prebuildDir : join(ROOT, 'build');
const say = (message) => console.log(`@bmp/backends-native: ${message}`);

function fail(message) {
  const text = `@bmp/backends-native: ${message}`;
  if (required) {
    console.error(`${text} (BMP_REQUIRE_NATIVE=1, so this is an error)`);
    process.exit(1);
  }
  console.warn(`${text}; @bmp/backends will use its WebAssembly kernels instead.`);
  process.exit(0);
}

/** The variants of `dir` whose manifest fits this host and sources and whose files match it, or why not. */
function fitting(dir, sources) {
  const read = readManifest(dir);
  if (read.problem) return { problem: read.problem };
  const { problems, binaries } = checkManifest(read.manifest, host, sources);
  if (problems.length > 0) return { problem: `${join(dir, MANIFEST_FILE)}: ${problems.join('; ')}` };
  const bad = binaries.map((b) => verifyBinary(dir, b)).filter((p) => p != null);
  if (bad.length > 0) return { problem: bad.join('; ') };
  return { manifest: read.manifest, isas: binaries.map((b) => b.isa) };
}

function compile(cxx, variant, includeDir) {
  const out = join(outDir, addonFileName(variant.isa));
  const tmp = `${out}.${process.pid}.tmp`;
  const args = [
    '-O3',
    ...variant.flags,
    '-std=c++17',
    '-shared',
    '-fPIC',
    '-pthread',
    '-fvisibility=hidden',
    `-DNAPI_VERSION=${NAPI_VERSION}`,
    `-I${includeDir}`,
    join(ROOT, 'src/native/addon.cc'),
    '-o',
    tmp,
  ];
  // Linked statically, so that a prebuild does not need the build machine's libstdc++ version.
  if (host.platform === 'linux') args.push('-static-libstdc++', '-static-libgcc');
  if (host.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  return new Promise((done) => {
    const child = spawn(cxx, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (error) => done({ variant, error: error.message, tmp }));
    child.on('close', (code, signal) =>
      done(
        code === 0
          ? { variant, tmp, out }
          : { variant, error: `exit ${code ?? signal}: ${stderr.trim()}`, tmp },
      ),
    );
  });
}

/**
 * The newest glibc symbol version the binaries link against (GLIBC_2.34, ...: the version strings are in
 * the dynamic string table), so that a system with an older glibc refuses them instead of failing to
 * load them; the build machine's glibc when none is found.
 */
function glibcNeeded(files) {
  let newest = null;
  for (const file of files) {
    for (const [, v] of readFileSync(file, 'latin1').matchAll(/GLIBC_(\d+\.\d+(?:\.\d+)?)/g)) {
      if (newest == null || compareVersions(v, newest) > 0) newest = v;
    }
  }
  return newest ?? host.glibc;
}

if (process.env.BMP_SKIP_NATIVE === '1') fail('BMP_SKIP_NATIVE=1, not compiling the native kernels');
const variants = variantsFor(host.arch);
if (variants.length === 0) fail(`no native build for ${host.arch} (built: ${['x64', 'arm64'].join(', ')})`);
if (host.platform === 'win32') fail('no native build for Windows (the build script does not drive MSVC)');
const sources = sourceHash(ROOT);

if (!prebuild && !force) {
  const pre = fitting(prebuildDir, sources);
  if (pre.manifest) {
    say(`prebuilt kernels for ${prebuildDirName(host)} fit (${pre.isas.join(', ')}); nothing to compile`);
    process.exit(0);
  }
  say(`no prebuilt kernels fit (${pre.problem}); compiling`);
}
if (!force) {
  const have = fitting(outDir, sources);
  // Up to date: every variant there, built from these sources with these flags for this host (by any
  // compiler: the release collects prebuilds made elsewhere, and they must not be rebuilt here).
  const flags = (isa) => JSON.stringify(have.manifest?.binaries.find((b) => b.isa === isa)?.flags);
  if (have.manifest && variants.every((v) => flags(v.isa) === JSON.stringify(v.flags))) {
    say(
      `${relative(ROOT, outDir)} is up to date (${have.isas.join(', ')}, ${have.manifest.compiler?.version})`,
    );
    process.exit(0);
  }
}
const compiler = findCompiler();
if (compiler == null) fail(`no C++ compiler found (${COMPILER_CANDIDATES_TEXT})`);

const includeDir = createRequire(import.meta.url)('node-api-headers').include_dir;
mkdirSync(outDir, { recursive: true });
rmSync(join(outDir, MANIFEST_FILE), { force: true });
const started = Date.now();
const results = await Promise.all(variants.map((v) => compile(compiler.cxx, v, includeDir)));
const built = [];
for (const r of results) {
  if (r.error != null) {
    rmSync(r.tmp, { force: true });
    console.warn(
      `@bmp/backends-native: the ${r.variant.isa} variant (${r.variant.flags.join(' ')}) did not compile: ${r.error}`,
    );
    continue;
  }
  renameSync(r.tmp, r.out);
  built.push({
    isa: r.variant.isa,
    file: addonFileName(r.variant.isa),
    sha256: fileHash(r.out),
    flags: r.variant.flags,
  });
}
const missing = variants.filter((v) => !built.some((b) => b.isa === v.isa)).map((v) => v.isa);
if (built.length === 0 || built[0].isa !== variants[0].isa || (prebuild && missing.length > 0)) {
  fail(`compiling with ${compiler.cxx} failed for ${missing.join(', ')}`);
}
writeManifest(outDir, {
  platform: host.platform,
  arch: host.arch,
  libc: host.libc,
  glibc: host.libc === 'glibc' ? glibcNeeded(built.map((b) => join(outDir, b.file))) : null,
  sourceHash: sources,
  compiler: { command: compiler.cxx, version: compiler.version },
  builtAt: new Date().toISOString(),
  binaries: built,
});
say(
  `built ${built.map((b) => b.isa).join(', ')} into ${relative(ROOT, outDir)} with ${compiler.version} in ${Date.now() - started} ms` +
    (missing.length > 0 ? ` (not built: ${missing.join(', ')})` : ''),
);
