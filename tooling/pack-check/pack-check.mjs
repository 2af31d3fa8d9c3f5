#!/usr/bin/env node
// Pack check: what `npm install @bmp/optimizer @bmp/datasets @bmp/models` would give a user, tested
// from outside the workspace.
//
//   1. `pnpm pack` every published package into a temp dir (pnpm rewrites `workspace:` ranges);
//   2. check each tarball's files and package.json (entry points present, nothing from src/, test/ or
//      build/ except @bmp/backends-native's C++ sources, no `workspace:` range left, every path named by
//      main/module/types/exports shipped, class registration only in files listed in `sideEffects`);
//   3. `npm install` all tarballs and @tensorflow/tfjs into an empty temp project, install scripts on:
//      @bmp/backends-native's prebuilds for this host fit, so its install script compiles nothing;
//   4. train a small dense model there with ScaleAmendedSGD from an ES module and from a CommonJS
//      script, through the bare package names only; run the native kernels against a plain-JS reference,
//      in the best variant the CPU runs and again with BMP_NATIVE_ISA=avx2 (skipped with a note without
//      a C++ compiler, unless BMP_REQUIRE_NATIVE=1);
//   5. print a PASS/FAIL summary, write test-results.json (vitest JSON-reporter shape) and exit non-zero
//      on any failure. Temp dirs are always removed.
//
// The packages must be built first (`pnpm --filter @bmp/pack-check^... build`); turbo does that for
// `pnpm test` because this package lists them as devDependencies and `test` depends on `^build`.
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import * as tarStream from 'tar-stream';
import {
  COMPILER_CANDIDATES_TEXT,
  findCompiler,
} from '../../packages/backends-native/scripts/find-compiler.mjs';
import { checkPrebuilds, HOST_PREBUILDS } from './native-prebuilds.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const RESULTS_FILE = join(HERE, 'test-results.json');
const NATIVE_DIR = join(ROOT, 'packages/backends-native');
const TFJS = '@tensorflow/tfjs@4.22.0';
const NPM_INSTALL_TIMEOUT_MS = 5 * 60_000;
const PACK_TIMEOUT_MS = 2 * 60_000;
const CONSUMER_TIMEOUT_MS = 3 * 60_000;
const IS_WINDOWS = process.platform === 'win32';

const PACKAGES = [
  { key: 'hessian', name: '@bmp/hessian', dir: join(ROOT, 'packages/hessian') },
  // The optimizer registers its classes with tf.serialization on import: both entry points must do it.
  { key: 'optimizer', name: '@bmp/optimizer', dir: join(ROOT, 'packages/optimizer'), registers: true },
  // The datasets package ships the embedded Fashion-MNIST subset, read at run time from next to dist/.
  {
    key: 'datasets',
    name: '@bmp/datasets',
    dir: join(ROOT, 'packages/datasets'),
    extraFiles: [
      'data/fashion-mnist-subset/train-images-idx3-ubyte.gz',
      'data/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz',
      'data/fashion-mnist-subset/LICENSE',
    ],
  },
  { key: 'models', name: '@bmp/models', dir: join(ROOT, 'packages/models') },
  // C++ kernels: prebuilt for this host under prebuilds/ (one binary per instruction set and a manifest),
  // plus the build script and C++ sources that the install compiles where no prebuild fits; never build/.
  {
    key: 'backends-native',
    name: '@bmp/backends-native',
    dir: NATIVE_DIR,
    extraFiles: [
      'scripts/build-native.mjs',
      'scripts/find-compiler.mjs',
      'scripts/native-manifest.mjs',
      'scripts/native-target.mjs',
      ...nativeSources(),
    ],
    allowedPrefixes: ['src/native/'],
    installScript: 'scripts/build-native.mjs',
    dependencies: ['node-api-headers'],
  },
  // wasm training kernels; tfjs-backend-wasm's .wasm files are loaded from the installed dependency, and
  // @bmp/backends-native (optional) from the tarball above.
  {
    key: 'backends',
    name: '@bmp/backends',
    dir: join(ROOT, 'packages/backends'),
    optionalDependencies: ['@bmp/backends-native'],
  },
  // No dependencies: the seeded generator of datasets, models and spectra.
  { key: 'random', name: '@bmp/random', dir: join(ROOT, 'packages/random') },
  // Spectral tools without tfjs (no tfjs dependency or peer).
  { key: 'spectra', name: '@bmp/spectra', dir: join(ROOT, 'packages/spectra') },
  { key: 'backmatching', name: '@bmp/backmatching', dir: join(ROOT, 'packages/backmatching') },
  // Two entry points: the browser-safe root and './node' (file writers).
  { key: 'runlog', name: '@bmp/runlog', dir: join(ROOT, 'packages/runlog') },
];
const REQUIRED_FILES = [
  'dist/index.js',
  'dist/index.cjs',
  'dist/index.d.ts',
  'dist/index.d.cts',
  'README.md',
  'package.json',
];
const FORBIDDEN_PREFIXES = ['src/', 'test/', 'build/'];
/** Test files anywhere in a tarball (also under an allowed prefix). */
const TEST_FILE = /(^|\/)(tests?|__tests__)\/|\.(test|spec|bench)\.[cm]?[jt]sx?$/;
/** The scaled difference allowed between two instruction-set variants (@bmp/backends-native README). */
const ISA_TOLERANCE = 2e-5;
const REQUIRE_NATIVE = process.env.BMP_REQUIRE_NATIVE === '1';

/** The C++ sources (src/native/*.cc and *.h) of @bmp/backends-native, as the tarball must ship them. */
function nativeSources() {
  const dir = join(NATIVE_DIR, 'src/native');
  if (!existsSync(dir)) return ['src/native/'];
  return readdirSync(dir)
    .filter((f) => /\.(cc|h)$/.test(f))
    .sort()
    .map((f) => `src/native/${f}`);
}

const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'];

// ---------------------------------------------------------------------------------------------------
// Small helpers

const startedAt = Date.now();
const tmpRoot = mkdtempSync(join(tmpdir(), 'bmp-pack-check-'));
let cleanedUp = false;

function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 3 });
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanup();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

function log(line = '') {
  process.stdout.write(`${line}\n`);
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)}s`;
}

function indent(text, prefix = '    ') {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

/** Last `n` lines of a command's output, for error messages. */
function tail(text, n = 30) {
  const lines = (text ?? '').trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}

/**
 * The environment for child commands, without the `npm_*` variables that the `pnpm test` script runner
 * sets (package fields, lifecycle names, pnpm-only config keys): npm would read them as its own config.
 * Registry, cache, proxy and TLS settings are kept so that CI mirrors still apply.
 */
function childEnv() {
  const keep =
    /^npm_config_(registry|cache|userconfig|globalconfig|.*proxy|strict_ssl|cafile|ca|@.*:registry|\/\/.*)$/i;
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !keep.test(k)) continue;
    env[k] = v;
  }
  return env;
}

function run(command, args, { cwd, timeoutMs, env = childEnv() }) {
  const t0 = Date.now();
  const r = spawnSync(command, args, {
    cwd,
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    shell: IS_WINDOWS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timedOut = r.error?.code === 'ETIMEDOUT' || (r.signal === 'SIGTERM' && Date.now() - t0 >= timeoutMs);
  return {
    ok: !r.error && r.status === 0,
    status: r.status,
    signal: r.signal,
    error: r.error,
    timedOut,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    ms: Date.now() - t0,
  };
}

function describeFailure(what, r, timeoutMs) {
  if (r.timedOut) return `${what} timed out after ${seconds(timeoutMs)}\n${tail(r.stdout + r.stderr)}`;
  if (r.error) return `${what} could not run: ${r.error.message}`;
  return `${what} exited with ${r.status ?? r.signal}\n${tail(r.stderr || r.stdout)}`;
}

/**
 * Reads a .tgz into Map<path inside the package, Buffer> (regular files only, the leading `package/`
 * dropped), with tar-stream (pax and GNU long names included).
 */
async function readTarball(file) {
  const files = new Map();
  const extract = tarStream.extract();
  const done = pipeline(createReadStream(file), createGunzip(), extract);
  done.catch(() => {}); // the loop below sees the same failure
  for await (const entry of extract) {
    const chunks = [];
    for await (const chunk of entry) chunks.push(chunk);
    if (entry.header.type === 'file')
      files.set(entry.header.name.replace(/^[^/]+\//, ''), Buffer.concat(chunks));
  }
  await done;
  return files;
}

/** The peer dependencies `manifest` marks optional. */
function optionalPeers(manifest) {
  return Object.entries(manifest.peerDependenciesMeta ?? {})
    .filter(([, meta]) => meta?.optional)
    .map(([name]) => name);
}

/** Every string in `value` (recursively) that is a relative path: the files an `exports` map names. */
function relativePaths(value, out = []) {
  if (typeof value === 'string') {
    if (value.startsWith('./')) out.push(value.slice(2));
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) relativePaths(v, out);
  }
  return out;
}

function globToRegExp(glob) {
  const pattern = glob.replace(/^\.\//, '');
  let body = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      body += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') body += '[^/]*';
    else if (c === '?') body += '[^/]';
    else body += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern without a slash matches the file name at any depth, as in webpack and rollup.
  return new RegExp(pattern.includes('/') ? `^${body}$` : `(?:^|/)${body}$`);
}

// ---------------------------------------------------------------------------------------------------
// Steps and checks

/** @type {{name: string, status: 'passed' | 'failed' | 'skipped', message: string, ms: number, counted: boolean}[]} */
const steps = [];

async function step(name, counted, fn) {
  const t0 = Date.now();
  log(`\n--- ${name}`);
  try {
    const detail = await fn();
    const ms = Date.now() - t0;
    steps.push({ name, status: 'passed', message: '', ms, counted });
    if (detail) log(indent(detail));
    log(`  ok   ${name} (${seconds(ms)})`);
    return true;
  } catch (err) {
    const ms = Date.now() - t0;
    const message = err instanceof Error ? err.message : String(err);
    steps.push({ name, status: 'failed', message, ms, counted });
    log(indent(message));
    log(`  FAIL ${name} (${seconds(ms)})`);
    return false;
  }
}

function skipped(name, reason) {
  steps.push({ name, status: 'failed', message: `not run: ${reason}`, ms: 0, counted: true });
  log(`\n--- ${name}\n    not run: ${reason}\n  FAIL ${name}`);
}

/** A check that does not apply here (not a failure): reported as skipped, with the note. */
function skippedWithNote(name, note) {
  steps.push({ name, status: 'skipped', message: note, ms: 0, counted: true });
  log(`\n--- ${name}\n    note: ${note}\n  skip ${name}`);
}

async function packPackage(pkg) {
  const dest = join(tmpRoot, `pack-${pkg.key}`);
  mkdirSync(dest);
  const r = run('pnpm', ['pack', '--pack-destination', dest], { cwd: pkg.dir, timeoutMs: PACK_TIMEOUT_MS });
  if (!r.ok) throw new Error(describeFailure(`pnpm pack (${pkg.dir})`, r, PACK_TIMEOUT_MS));
  const tarballs = readdirSync(dest).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== 1)
    throw new Error(`expected one .tgz in ${dest}, found: ${tarballs.join(', ') || 'none'}`);
  pkg.tarball = join(dest, tarballs[0]);
  pkg.files = await readTarball(pkg.tarball);
  pkg.manifest = JSON.parse(pkg.files.get('package.json')?.toString('utf8') ?? 'null');
  if (!pkg.manifest) throw new Error(`${tarballs[0]} has no package.json`);
  return `${tarballs[0]}: ${pkg.files.size} files`;
}

function checkTarball(pkg) {
  const problems = [];
  const paths = [...pkg.files.keys()].sort();
  const m = pkg.manifest;

  if (m.name !== pkg.name) problems.push(`package.json name is ${m.name}, expected ${pkg.name}`);

  const missing = [...REQUIRED_FILES, ...(pkg.extraFiles ?? [])].filter((f) => !pkg.files.has(f));
  if (missing.length > 0) {
    const hint = missing.some((f) => f.startsWith('dist/'))
      ? ' (is the build up to date? `pnpm --filter @bmp/pack-check^... build`)'
      : missing.includes('README.md')
        ? ` (there is no ${pkg.dir.slice(ROOT.length + 1)}/README.md to pack)`
        : '';
    problems.push(`missing from the tarball: ${missing.join(', ')}${hint}`);
  }

  const allowed = pkg.allowedPrefixes ?? [];
  const forbidden = paths.filter(
    (p) =>
      TEST_FILE.test(p) ||
      (FORBIDDEN_PREFIXES.some((prefix) => p.startsWith(prefix)) &&
        !allowed.some((prefix) => p.startsWith(prefix))),
  );
  if (forbidden.length > 0) problems.push(`tarball ships source/test/build files: ${forbidden.join(', ')}`);
  for (const prefix of allowed) {
    // Only the C++ sources under src/native/: no TypeScript, no objects, no stray files.
    const odd = paths.filter((p) => p.startsWith(prefix) && !/\.(cc|h)$/.test(p));
    if (odd.length > 0) problems.push(`${prefix} ships more than .cc/.h files: ${odd.join(', ')}`);
  }
  if (pkg.key === 'backends-native' && !paths.some((p) => /^src\/native\/[^/]+\.cc$/.test(p))) {
    problems.push('no src/native/*.cc in the tarball: the install script has nothing to compile');
  }
  if (pkg.key === 'backends-native' && nativeExpected) {
    // Where the build could compile (a compiler, or BMP_REQUIRE_NATIVE=1), this host's prebuilds ship.
    problems.push(...checkPrebuilds(pkg.files).problems);
  }

  if (pkg.installScript) {
    const script = m.scripts?.install;
    if (typeof script !== 'string' || !script.includes(pkg.installScript)) {
      problems.push(`scripts.install is ${JSON.stringify(script)}, expected it to run ${pkg.installScript}`);
    }
    if (!pkg.files.has(pkg.installScript))
      problems.push(`${pkg.installScript} (the install script) is not shipped`);
  }
  for (const dep of pkg.dependencies ?? []) {
    if (!m.dependencies?.[dep]) problems.push(`dependencies has no ${dep} (the install script needs it)`);
  }
  for (const dep of pkg.optionalDependencies ?? []) {
    const range = m.optionalDependencies?.[dep];
    const version = PACKAGES.find((p) => p.name === dep)?.manifest?.version;
    if (range == null) problems.push(`optionalDependencies has no ${dep}`);
    else if (version != null && range !== version && range !== `^${version}` && range !== `~${version}`) {
      problems.push(`optionalDependencies.${dep} is "${range}", which does not name the packed ${version}`);
    }
    if (m.dependencies?.[dep]) problems.push(`${dep} is a (required) dependency too, not only optional`);
  }
  // A type declaration that imports an optional dependency breaks the type check of every consumer that
  // installs without optional dependencies.
  for (const dep of [...Object.keys(m.optionalDependencies ?? {}), ...optionalPeers(m)]) {
    const importing = paths.filter(
      (p) =>
        /\.d\.c?ts$/.test(p) &&
        new RegExp(`(from\\s*|import\\(\\s*|require\\(\\s*)['"]${dep}['"/]`).test(
          pkg.files.get(p).toString('utf8'),
        ),
    );
    if (importing.length > 0) problems.push(`${importing.join(', ')} import the optional ${dep}`);
  }
  // An optional peer is one npm knows: listed in peerDependencies (npm ignores a peerDependenciesMeta
  // entry without one).
  for (const dep of Object.keys(m.peerDependenciesMeta ?? {})) {
    if (m.peerDependencies?.[dep] == null)
      problems.push(`peerDependenciesMeta.${dep} has no peerDependencies entry`);
  }

  for (const field of DEPENDENCY_FIELDS) {
    for (const [dep, range] of Object.entries(m[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${dep} is still "${range}"`);
    }
  }
  if (JSON.stringify(m).includes('workspace:')) {
    if (!problems.some((p) => p.includes('workspace:')))
      problems.push('package.json still contains "workspace:"');
  }

  const named = [
    ...['main', 'module', 'types', 'typings'].filter((f) => typeof m[f] === 'string').map((f) => m[f]),
    ...relativePaths(m.exports),
  ].map((p) => p.replace(/^\.\//, ''));
  if (!m.exports) problems.push('package.json has no "exports" map');
  for (const p of new Set(named)) {
    if (p.includes('*')) continue;
    if (!pkg.files.has(p)) problems.push(`package.json points at ${p}, which is not in the tarball`);
  }

  // Class registration with tf.serialization is a side effect: a bundler honouring "sideEffects"
  // would drop it from any file the field does not cover.
  const registering = paths.filter(
    (p) => /\.(c|m)?js$/.test(p) && pkg.files.get(p).toString('utf8').includes('registerClass('),
  );
  if (pkg.registers) {
    const silent = ['dist/index.js', 'dist/index.cjs'].filter(
      (p) => pkg.files.has(p) && !registering.includes(p),
    );
    if (silent.length > 0) {
      problems.push(
        `${silent.join(' and ')} never call tf.serialization.registerClass: the bundler dropped the ` +
          `side-effect import of the registration module (is its source file listed in "sideEffects"?)`,
      );
    }
  }
  if (m.sideEffects === false && registering.length > 0) {
    problems.push(`"sideEffects": false, but ${registering.join(', ')} register classes on import`);
  } else if (Array.isArray(m.sideEffects)) {
    const patterns = m.sideEffects.map(globToRegExp);
    const uncovered = registering.filter((p) => !patterns.some((re) => re.test(p)));
    if (uncovered.length > 0) {
      problems.push(`"sideEffects" does not list ${uncovered.join(', ')}, which register classes on import`);
    }
  }

  const listing = paths.join(', ');
  if (problems.length > 0) throw new Error(`${problems.map((p) => `- ${p}`).join('\n')}\nfiles: ${listing}`);
  const optional = m.optionalDependencies
    ? `\noptionalDependencies: ${JSON.stringify(m.optionalDependencies)}`
    : '';
  const install = m.scripts?.install ? `\nscripts.install: ${m.scripts.install}` : '';
  return `files: ${listing}\ndependencies: ${JSON.stringify(m.dependencies ?? {})}${optional}${install}`;
}

/** What @bmp/backends-native's install script did in the temp project (for the native checks). */
const nativeInstall = { lines: [], compiled: false, prebuiltFit: false };

function installConsumer(consumerDir) {
  mkdirSync(consumerDir);
  writeFileSync(
    join(consumerDir, 'package.json'),
    `${JSON.stringify({ name: 'bmp-pack-check-consumer', version: '0.0.0', private: true }, null, 2)}\n`,
  );
  // Install scripts run, as for a user: @bmp/backends-native compiles its addon (its output is shown with
  // --foreground-scripts). BMP_REQUIRE_NATIVE / BMP_SKIP_NATIVE are not passed on: a missing compiler
  // fails the native checks below, not the install that every other check needs.
  const args = [
    'install',
    '--no-audit',
    '--no-fund',
    '--foreground-scripts',
    '--prefer-offline',
    '--loglevel=error',
    ...PACKAGES.map((p) => p.tarball),
    TFJS,
  ];
  const env = childEnv();
  delete env.BMP_REQUIRE_NATIVE;
  delete env.BMP_SKIP_NATIVE;
  const r = run('npm', args, { cwd: consumerDir, timeoutMs: NPM_INSTALL_TIMEOUT_MS, env });
  if (!r.ok) throw new Error(describeFailure(`npm ${args.join(' ')}`, r, NPM_INSTALL_TIMEOUT_MS));
  nativeInstall.lines = (r.stdout + r.stderr)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('@bmp/backends-native:'));
  nativeInstall.compiled = existsSync(join(consumerDir, 'node_modules/@bmp/backends-native/build'));
  nativeInstall.prebuiltFit = nativeInstall.lines.some((l) => /prebuilt kernels for \S+ fit/.test(l));

  // @bmp/hessian must come from our tarball, once, not from the registry or nested under the optimizer.
  const lock = JSON.parse(readFileSync(join(consumerDir, 'package-lock.json'), 'utf8'));
  const problems = [];
  for (const pkg of PACKAGES) {
    const entry = lock.packages?.[`node_modules/${pkg.name}`];
    if (!entry) problems.push(`${pkg.name} is not installed at node_modules/${pkg.name}`);
    else if (!String(entry.resolved).startsWith('file:')) {
      problems.push(`${pkg.name} resolved from ${entry.resolved}, not from the local tarball`);
    } else if (entry.version !== pkg.manifest.version) {
      problems.push(`${pkg.name} installed as ${entry.version}, packed ${pkg.manifest.version}`);
    }
  }
  const nested = Object.keys(lock.packages ?? {}).filter((k) =>
    /node_modules\/.+\/node_modules\/@bmp\//.test(k),
  );
  if (nested.length > 0) problems.push(`nested copies of @bmp packages: ${nested.join(', ')}`);
  const cores = Object.keys(lock.packages ?? {}).filter((k) =>
    k.endsWith('node_modules/@tensorflow/tfjs-core'),
  );
  if (cores.length !== 1) problems.push(`expected one @tensorflow/tfjs-core, found: ${cores.join(', ')}`);
  const nativeEntry = lock.packages?.['node_modules/@bmp/backends-native'];
  if (nativeEntry && nativeEntry.hasInstallScript !== true) {
    problems.push('@bmp/backends-native has no install script in the lockfile (hasInstallScript)');
  }
  if (nativeExpected && (!nativeInstall.prebuiltFit || nativeInstall.compiled)) {
    // The tarball holds this host's prebuilds (checked above): the install must use them, not compile.
    problems.push(
      `@bmp/backends-native's install script compiled instead of using ${HOST_PREBUILDS}: ${nativeInstall.lines.join(' | ') || '(it said nothing)'}`,
    );
  }
  if (problems.length > 0) throw new Error(problems.map((p) => `- ${p}`).join('\n'));
  const scripts = Object.entries(lock.packages ?? {})
    .filter(([, e]) => e.hasInstallScript)
    .map(([k]) => k.replace(/^.*node_modules\//, ''));
  return [
    `installed in ${seconds(r.ms)}: ${PACKAGES.map((p) => `${p.name}@${p.manifest.version} (file:)`).join(', ')}, ${TFJS}`,
    `packages with install scripts: ${scripts.join(', ') || 'none'}`,
    ...nativeInstall.lines.map((l) => `install script: ${l}`),
    `@bmp/backends-native: ${nativeInstall.prebuiltFit ? `prebuilds used (${HOST_PREBUILDS})` : 'no prebuild fit'}, ${nativeInstall.compiled ? 'compiled into build/' : 'nothing compiled'}`,
  ].join('\n');
}

// The consumer scripts: identical bodies, one loaded as an ES module and one as CommonJS. They use the
// bare package names only (no deep imports, no `@bmp/optimizer/package.json`).
const CONSUMER_BODY = `
function fail(message) {
  throw new Error(message);
}

async function main() {
  const distFile = MODE === 'esm' ? 'index.js' : 'index.cjs';
  for (const [name, file] of Object.entries(resolved)) {
    if (file === undefined) continue;
    const norm = file.split(path.sep).join('/');
    const cwd = process.cwd().split(path.sep).join('/');
    if (!norm.startsWith(cwd + '/node_modules/') || !norm.endsWith('/' + name + '/dist/' + distFile)) {
      fail(name + ' resolved to ' + file + ', expected ./node_modules/' + name + '/dist/' + distFile);
    }
  }
  if (Object.keys(hessian).length === 0) fail('@bmp/hessian exports nothing');
  for (const [name, value] of Object.entries({ ScaleAmendedSGD, MomentumSGD, blocksFromLayersModel })) {
    if (typeof value !== 'function') fail('@bmp/optimizer does not export ' + name + ' (got ' + typeof value + ')');
  }

  // Registration is a side effect of importing the package, and must land in the tfjs-core instance
  // that @tensorflow/tfjs uses (one copy of tfjs-core, whichever module format loaded it).
  const classNameMap = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const cls of [ScaleAmendedSGD, MomentumSGD]) {
    const entry = classNameMap[cls.className];
    if (!entry) fail(cls.className + ' is not registered in tf.serialization.SerializationMap (' + Object.keys(classNameMap).length + ' other classes are)');
    if (entry[0] !== cls) fail(cls.className + ' is registered, but as a different class (two copies of the package?)');
  }
  if (!classNameMap.ScaleAmendedSGD) fail('classNameMap.ScaleAmendedSGD is missing');

  await tf.ready();
  // Synthetic, linearly separable data: two classes split by a fixed hyperplane.
  const n = 256;
  const x = tf.randomNormal([n, 4], 0, 1, 'float32', 1);
  const labels = tf.tidy(() => tf.greater(tf.matMul(x, tf.tensor2d([[1], [-2], [0.5], [1.5]])), 0).reshape([n]).toInt());
  const y = tf.oneHot(labels, 2).toFloat();

  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const optimizer = new ScaleAmendedSGD({ learningRate: 0.01, momentum: 0.9, blocks: blocksFromLayersModel(model) });
  if (!(optimizer instanceof tf.Optimizer)) fail('ScaleAmendedSGD is not a tf.Optimizer of the installed tfjs');
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const history = await model.fit(x, y, { epochs: 8, batchSize: 32, shuffle: false, verbose: 0 });
  const losses = history.history.loss.map(Number);
  const first = losses[0];
  const last = losses[losses.length - 1];
  console.log(MODE + ': losses ' + losses.map((l) => l.toFixed(4)).join(' '));
  if (!losses.every(Number.isFinite)) fail('non-finite loss: ' + losses.join(', '));
  if (!(last < first)) fail('loss did not fall: first ' + first + ', last ' + last);

  // The embedded data set is read from the installed package, and a paper VGG trains on it.
  const test = await datasets.loadEmbeddedFashionMnist({ split: 'test' });
  if (test.count !== 2000 || test.images.length !== 2000 * 28 * 28) fail('embedded Fashion-MNIST test split: ' + test.count + ' images');
  const vgg = models.paperVgg({ depth: 11, numClasses: 10, widthMultiplier: 0.0625, inputShape: [28, 28, 1], seed: 1 });
  const images = tf.tidy(() => tf.tensor4d(test.images.subarray(0, 8 * 784), [8, 28, 28, 1], 'int32').toFloat().div(255));
  const targets = tf.oneHot(tf.tensor1d(Array.from(test.labels.subarray(0, 8)), 'int32'), 10).toFloat();
  const vggOptimizer = new ScaleAmendedSGD({ learningRate: 0.01, momentum: 0.9, blocks: vgg.blocks });
  const vggLoss = vggOptimizer.minimize(() => tf.losses.softmaxCrossEntropy(targets, vgg.apply(images, { training: true })), true);
  if (!Number.isFinite(vggLoss.dataSync()[0])) fail('paper VGG loss is not finite');
  console.log(MODE + ': paper VGG11 (width 1/16) step on embedded Fashion-MNIST, loss ' + vggLoss.dataSync()[0].toFixed(4));
  // Network.save writes through @bmp/runlog/node's atomic writer (loaded on first use), into a new folder.
  const saved = path.join(process.cwd(), 'saved-' + MODE, 'vgg.bin');
  await vgg.save(saved);
  if (fs.statSync(saved).size === 0) fail('@bmp/models Network.save wrote nothing');

  // The second entry points: @bmp/models/internals, @bmp/datasets/testing, @bmp/backends/internals,
  // @bmp/backmatching/internals.
  if (modelsInternals.roundHalfEven(2.5) !== 2) fail('@bmp/models/internals roundHalfEven');
  if (typeof datasetsTesting.writeCifarDirectory !== 'function' || typeof datasetsTesting.writeIdx !== 'function') fail('@bmp/datasets/testing writers');
  if (typeof backendsInternals.setTrainingKernelMode !== 'function') fail('@bmp/backends/internals setTrainingKernelMode');
  if (typeof backmatchingInternals.im2col !== 'function') fail('@bmp/backmatching/internals im2col');
  for (const [name, mod, moved] of [['@bmp/models', models, 'roundHalfEven'], ['@bmp/datasets', datasets, 'writeIdx'], ['@bmp/backends', backends, 'setTrainingKernelMode'], ['@bmp/backmatching', backmatching, 'im2col']]) {
    if (moved in mod) fail(name + ' still exports ' + moved + ' from its main entry point');
  }

  // @bmp/random: the first output of mulberry32(0) (1144304738 / 2^32).
  if (random.mulberry32(0)() !== 1144304738 / 4294967296) fail('@bmp/random mulberry32(0) first output');

  // @bmp/spectra: eigenvalues of Q diag(3, 1, -2) Q^T (Q a Householder reflection) and the
  // Marchenko-Pastur atom at zero for c = 1/2 (max(0, 1 - c)); @bmp/backmatching's tfOperator feeds it.
  const u = [1, 2, 2].map((x) => x / 3);
  const d = [3, 1, -2];
  const a = Array.from({ length: 9 }, (_, k) => {
    const i = Math.floor(k / 3);
    const j = k % 3;
    let sum = 0;
    for (let l = 0; l < 3; l++) sum += ((i === l ? 1 : 0) - 2 * u[i] * u[l]) * d[l] * ((j === l ? 1 : 0) - 2 * u[j] * u[l]);
    return sum;
  });
  const eig = Array.from(spectra.symmetricEigenvalues({ dim: 3, data: a })).sort((x, y) => x - y);
  if ([-2, 1, 3].some((v, i) => Math.abs(eig[i] - v) > 1e-12)) fail('@bmp/spectra eigenvalues ' + eig + ', expected -2, 1, 3');
  if (spectra.marchenkoPastur({ c: 0.5, sigma2: 1 }).atomAtZero !== 0.5) fail('@bmp/spectra marchenkoPastur atomAtZero');
  if (typeof backmatching.tfOperator !== 'function') fail('@bmp/backmatching does not export tfOperator');
  if ('symmetricEigenvalues' in backmatching) fail('@bmp/backmatching still re-exports the spectra API');

  // @bmp/runlog: a step record through the schema (and a malformed line reported), then the ./node entry
  // writes a JSON file atomically.
  const parsed = runlog.parseJsonl('{"type":"step","v":1,"step":5,"wallTime":1,"loss":0.5,"lr":0.1}\\nnot json\\n');
  if (parsed.records.length !== 1 || parsed.problems.length !== 1) fail('@bmp/runlog parseJsonl: ' + JSON.stringify(parsed));
  const out = path.join(process.cwd(), 'runlog-' + MODE + '.json');
  await runlogNode.writeJsonAtomic(out, { ok: true });
  if (JSON.parse(fs.readFileSync(out, 'utf8')).ok !== true) fail('@bmp/runlog/node writeJsonAtomic');

  // @bmp/backends: wasm from the installed packages, with the training kernels: the filter gradient of a
  // convolution against the cpu backend. With the addon built (NATIVE_EXPECTED), initBackend must report
  // @bmp/backends-native's kernels, and the gradient runs through them.
  const convGrad = () => tf.tidy(() => {
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 5);
    const dy = tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', 6);
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 7);
    // d/dW sum(conv2d(x, W) * dy) runs the Conv2DBackpropFilter kernel.
    return Array.from(tf.grad((v) => tf.sum(tf.mul(tf.conv2d(x, v, 1, 'same'), dy)))(w).dataSync());
  });
  await tf.setBackend('cpu');
  const reference = convGrad();
  const chosen = await backends.initBackend({ prefer: 'wasm' });
  if (tf.getBackend() !== 'wasm') fail('@bmp/backends initBackend wasm: backend is ' + tf.getBackend() + ' (' + chosen.reason + ')');
  const onWasm = convGrad();
  const gap = Math.max(...onWasm.map((v, i) => Math.abs(v - reference[i]) / Math.max(1e-3, Math.abs(reference[i]))));
  if (!(gap <= 1e-4)) fail('@bmp/backends Conv2DBackpropFilter on wasm differs from cpu by ' + gap + ' (' + chosen.reason + ')');
  if (NATIVE_EXPECTED) {
    if (chosen.native == null) fail('@bmp/backends initBackend wasm: native is ' + chosen.native + ' (nativeNote: ' + chosen.nativeNote + ')');
    if (!/; convolutions: native \\S+ kernels, \\d+ thread\\(s\\)$/.test(chosen.reason)) fail('@bmp/backends initBackend wasm: the reason does not name the native kernels: ' + chosen.reason);
    // The variant and why go into the device (the trainer's config.json records it).
    if (chosen.device.native?.isa !== chosen.native.isa || typeof chosen.native.isaChoice !== 'string') fail('@bmp/backends initBackend wasm: device.native ' + JSON.stringify(chosen.device.native) + ', native ' + JSON.stringify(chosen.native));
  }
  console.log(MODE + ': @bmp/backends wasm (' + chosen.reason + '), filter gradient within ' + gap.toExponential(1) + ' of cpu');
  if (chosen.native != null) console.log(MODE + ': @bmp/backends native ' + JSON.stringify(chosen.native));
  else console.log(MODE + ': note: @bmp/backends runs without native kernels: ' + chosen.nativeNote);
  console.log('PACK_CHECK_RESULT ' + JSON.stringify({ mode: MODE, first, last, backend: tf.getBackend(), native: chosen.native ?? null }));
}
`;

const CONSUMER_ESM = `import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as hessian from '@bmp/hessian';
import { blocksFromLayersModel, MomentumSGD, ScaleAmendedSGD } from '@bmp/optimizer';
import * as datasets from '@bmp/datasets';
import * as datasetsTesting from '@bmp/datasets/testing';
import * as models from '@bmp/models';
import * as modelsInternals from '@bmp/models/internals';
import * as backends from '@bmp/backends';
import * as backendsInternals from '@bmp/backends/internals';
import * as backmatching from '@bmp/backmatching';
import * as random from '@bmp/random';
import * as spectra from '@bmp/spectra';
import * as backmatchingInternals from '@bmp/backmatching/internals';
import * as runlog from '@bmp/runlog';
import * as runlogNode from '@bmp/runlog/node';
import fs from 'node:fs';

const MODE = 'esm';
const NATIVE_EXPECTED = process.env.BMP_PACK_CHECK_NATIVE === '1';
const resolved = {
  '@bmp/datasets': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/datasets')) : undefined,
  '@bmp/models': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/models')) : undefined,
  '@bmp/optimizer': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/optimizer')) : undefined,
  '@bmp/hessian': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/hessian')) : undefined,
  '@bmp/backends': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/backends')) : undefined,
  '@bmp/backmatching': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/backmatching')) : undefined,
  '@bmp/random': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/random')) : undefined,
  '@bmp/spectra': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/spectra')) : undefined,
  '@bmp/runlog': typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/runlog')) : undefined,
};
${CONSUMER_BODY}
await main();
`;

const CONSUMER_CJS = `'use strict';
const path = require('node:path');
const tf = require('@tensorflow/tfjs');
const hessian = require('@bmp/hessian');
const { blocksFromLayersModel, MomentumSGD, ScaleAmendedSGD } = require('@bmp/optimizer');
const datasets = require('@bmp/datasets');
const datasetsTesting = require('@bmp/datasets/testing');
const models = require('@bmp/models');
const modelsInternals = require('@bmp/models/internals');
const backends = require('@bmp/backends');
const backendsInternals = require('@bmp/backends/internals');
const backmatching = require('@bmp/backmatching');
const random = require('@bmp/random');
const spectra = require('@bmp/spectra');
const backmatchingInternals = require('@bmp/backmatching/internals');
const runlog = require('@bmp/runlog');
const runlogNode = require('@bmp/runlog/node');
const fs = require('node:fs');

const MODE = 'cjs';
const NATIVE_EXPECTED = process.env.BMP_PACK_CHECK_NATIVE === '1';
const resolved = {
  '@bmp/datasets': require.resolve('@bmp/datasets'),
  '@bmp/models': require.resolve('@bmp/models'),
  '@bmp/optimizer': require.resolve('@bmp/optimizer'),
  '@bmp/hessian': require.resolve('@bmp/hessian'),
  '@bmp/backends': require.resolve('@bmp/backends'),
  '@bmp/backmatching': require.resolve('@bmp/backmatching'),
  '@bmp/random': require.resolve('@bmp/random'),
  '@bmp/spectra': require.resolve('@bmp/spectra'),
  '@bmp/runlog': require.resolve('@bmp/runlog'),
};
${CONSUMER_BODY}
main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
`;

// @bmp/backends-native on its own, from an ES module and from CommonJS: the addon that npm's run of the
// install script compiled loads, and convForward matches a plain-JS convolution (double precision).
const NATIVE_BODY = `
function fail(message) {
  throw new Error(message);
}

/** Deterministic values in [-1, 1). */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  };
}

/** NHWC convolution in plain JS (double precision), the geometry packed as for the kernels. */
function referenceConv(x, w, g) {
  const [n, h, wd, ci, kh, kw, co, oh, ow, sh, sw, top, left] = g;
  const y = new Float64Array(n * oh * ow * co);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let c = 0; c < ow; c++)
        for (let o = 0; o < co; o++) {
          let sum = 0;
          for (let i = 0; i < kh; i++) {
            const ih = r * sh - top + i;
            if (ih < 0 || ih >= h) continue;
            for (let j = 0; j < kw; j++) {
              const iw = c * sw - left + j;
              if (iw < 0 || iw >= wd) continue;
              for (let k = 0; k < ci; k++) sum += x[((b * h + ih) * wd + iw) * ci + k] * w[((i * kw + j) * ci + k) * co + o];
            }
          }
          y[((b * oh + r) * ow + c) * co + o] = sum;
        }
  return y;
}

function main() {
  const norm = (p) => p.split(path.sep).join('/');
  const root = norm(process.cwd()) + '/node_modules/@bmp/backends-native/';
  const distFile = MODE === 'esm' ? 'index.js' : 'index.cjs';
  if (resolvedFile !== undefined && norm(resolvedFile) !== root + 'dist/' + distFile) {
    fail('@bmp/backends-native resolved to ' + resolvedFile + ', expected ./node_modules/@bmp/backends-native/dist/' + distFile);
  }
  for (const name of ['loadNativeKernels', 'convGeometry']) {
    if (typeof native[name] !== 'function') fail('@bmp/backends-native does not export ' + name);
  }
  const loaded = native.loadNativeKernels();
  if (loaded.kernels == null) fail('loadNativeKernels() returned no kernels: ' + loaded.reason);
  const { isa, lanes } = loaded.kernels.info();
  const choice = loaded.choice;
  const asked = process.env.BMP_NATIVE_ISA;
  // The prebuilt variant: the best the CPU runs, or the one BMP_NATIVE_ISA names.
  const runnable = choice.supported.filter((i) => choice.available.includes(i));
  const want = asked || runnable[runnable.length - 1];
  if (choice.isa !== want || isa !== want) fail('loaded ' + choice.isa + ' (info(): ' + isa + '), expected ' + want + ': ' + loaded.reason);
  if (choice.why !== (asked ? 'BMP_NATIVE_ISA=' + asked : 'the best this CPU runs')) fail('the choice says ' + choice.why);
  const expected = root + '${HOST_PREBUILDS}/bmp_backends_native.' + want + '.node';
  if (norm(loaded.path) !== expected) fail('loadNativeKernels() loaded ' + loaded.path + ', expected ' + expected);
  console.log(MODE + ': loadNativeKernels(): ' + loaded.reason);
  const outputs = [];

  const cases = [
    { x: [1, 4, 4, 2], w: [3, 3, 2, 4], stride: 1, pad: 1, threads: 1 },
    { x: [1, 4, 4, 2], w: [3, 3, 2, 4], stride: 1, pad: 1, threads: 2 },
    { x: [2, 7, 7, 3], w: [3, 3, 3, 8], stride: 2, pad: 1, threads: 2 },
  ];
  let seed = 1;
  for (const c of cases) {
    const [n, h, wd, ci] = c.x;
    const [kh, kw, , co] = c.w;
    const oh = Math.floor((h + 2 * c.pad - kh) / c.stride) + 1;
    const ow = Math.floor((wd + 2 * c.pad - kw) / c.stride) + 1;
    const geometry = native.convGeometry({
      batch: n, inHeight: h, inWidth: wd, inChannels: ci, filterHeight: kh, filterWidth: kw, outChannels: co,
      outHeight: oh, outWidth: ow, strideHeight: c.stride, strideWidth: c.stride, padTop: c.pad, padLeft: c.pad,
    });
    const x = Float32Array.from({ length: n * h * wd * ci }, random(seed++));
    const w = Float32Array.from({ length: kh * kw * ci * co }, random(seed++));
    const y = new Float32Array(n * oh * ow * co).fill(Number.NaN);
    const label = 'x [' + c.x + '], w [' + c.w + '], stride ' + c.stride + ', pad ' + c.pad + ', ' + c.threads + ' thread(s)';
    const ok = loaded.kernels.convForward(x, w, y, geometry, c.threads);
    if (ok !== true) fail('convForward(' + label + ') returned ' + ok);
    const reference = referenceConv(x, w, geometry);
    let gap = 0;
    for (let i = 0; i < y.length; i++) {
      const d = Math.abs(y[i] - reference[i]) / Math.max(1, Math.abs(reference[i]));
      gap = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(gap, d);
    }
    if (!(gap <= 1e-5)) fail('convForward(' + label + ') differs from the JS reference by ' + gap);
    outputs.push(...y);
    console.log(MODE + ': convForward ' + label + ' -> [' + [n, oh, ow, co] + '] within ' + gap.toExponential(1) + ' of the JS reference');
  }
  console.log('PACK_CHECK_RESULT ' + JSON.stringify({ mode: MODE, isa, lanes, supported: choice.supported, outputs }));
}
`;

const NATIVE_ESM = `import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as native from '@bmp/backends-native';

const MODE = 'esm';
const resolvedFile = typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@bmp/backends-native')) : undefined;
${NATIVE_BODY}
main();
`;

const NATIVE_CJS = `'use strict';
const path = require('node:path');
const native = require('@bmp/backends-native');

const MODE = 'cjs';
const resolvedFile = require.resolve('@bmp/backends-native');
${NATIVE_BODY}
main();
`;

const losses = {};
/** Whether the native checks must pass: a C++ compiler is on PATH, or BMP_REQUIRE_NATIVE=1. */
let nativeExpected = false;

/** Runs `source` as `file` in the temp project; returns its output and its PACK_CHECK_RESULT object. */
function runScript(consumerDir, file, source, extraEnv = {}) {
  writeFileSync(join(consumerDir, file), source);
  const env = { ...childEnv(), BMP_PACK_CHECK_NATIVE: nativeExpected ? '1' : '0', ...extraEnv };
  if (!('BMP_NATIVE_ISA' in extraEnv)) delete env.BMP_NATIVE_ISA;
  const r = run(process.execPath, [file], { cwd: consumerDir, timeoutMs: CONSUMER_TIMEOUT_MS, env });
  const output = (r.stdout + r.stderr)
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('PACK_CHECK_RESULT '))
    .join('\n');
  if (!r.ok) throw new Error(describeFailure(`node ${file}`, r, CONSUMER_TIMEOUT_MS));
  const line = r.stdout.split('\n').find((l) => l.startsWith('PACK_CHECK_RESULT '));
  if (!line) throw new Error(`node ${file} printed no result\n${tail(output)}`);
  return { output, result: JSON.parse(line.slice('PACK_CHECK_RESULT '.length)) };
}

function runConsumer(consumerDir, mode) {
  const file = mode === 'esm' ? 'consumer.mjs' : 'consumer.cjs';
  const { output, result } = runScript(consumerDir, file, mode === 'esm' ? CONSUMER_ESM : CONSUMER_CJS);
  losses[mode] = result;
  return `${output}\n${mode}: first loss ${result.first.toFixed(4)}, last loss ${result.last.toFixed(4)} (backend ${result.backend})`;
}

const nativeResults = {};

function runNative(consumerDir, mode, compiler, isa) {
  const file = mode === 'esm' ? 'native.mjs' : 'native.cjs';
  try {
    const env = isa ? { BMP_NATIVE_ISA: isa } : {};
    const { output, result } = runScript(consumerDir, file, mode === 'esm' ? NATIVE_ESM : NATIVE_CJS, env);
    nativeResults[isa ?? mode] = result;
    let agreement = '';
    const best = nativeResults.esm;
    if (isa && best) {
      // The forced variant against the best one on the same inputs: the documented tolerance.
      let diff = 0;
      let scale = 0;
      result.outputs.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - best.outputs[i]));
        scale = Math.max(scale, Math.abs(best.outputs[i]));
      });
      const error = diff / Math.max(scale, 1e-30);
      if (!(error <= ISA_TOLERANCE)) {
        throw new Error(`${isa} and ${best.isa} differ by ${error} (scaled), more than ${ISA_TOLERANCE}`);
      }
      agreement = `; against ${best.isa}: ${diff === 0 ? 'identical' : `scaled difference ${error.toExponential(2)}`} (tolerance ${ISA_TOLERANCE})`;
    }
    return `${output}\n${mode}: native kernels ${result.isa} (${result.lanes} float lanes)${agreement}`;
  } catch (err) {
    const why = compiler
      ? `the install script had ${compiler.cxx} (${compiler.version})`
      : `BMP_REQUIRE_NATIVE=1, but no C++ compiler (${COMPILER_CANDIDATES_TEXT}) is on PATH`;
    const said = nativeInstall.lines.length > 0 ? nativeInstall.lines.join('\n') : '(nothing)';
    throw new Error(`${err instanceof Error ? err.message : err}\n${why}; the install script said:\n${said}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Results

function writeResults() {
  const counted = steps.filter((s) => s.counted);
  const passed = counted.filter((s) => s.status === 'passed').length;
  const failed = counted.filter((s) => s.status === 'failed').length;
  const pending = counted.length - passed - failed;
  const endTime = Date.now();
  const results = {
    numTotalTestSuites: 1,
    numPassedTestSuites: failed === 0 ? 1 : 0,
    numFailedTestSuites: failed === 0 ? 0 : 1,
    numPendingTestSuites: 0,
    numTotalTests: counted.length,
    numPassedTests: passed,
    numFailedTests: failed,
    numPendingTests: pending,
    numTodoTests: 0,
    startTime: startedAt,
    success: steps.every((s) => s.status !== 'failed'),
    testResults: [
      {
        assertionResults: counted.map((s) => ({
          ancestorTitles: ['pack check'],
          fullName: `pack check ${s.name}`,
          status: s.status,
          title: s.name,
          duration: s.ms,
          failureMessages: s.status === 'failed' ? [s.message] : [],
          meta: {},
        })),
        startTime: startedAt,
        endTime,
        status: failed === 0 ? 'passed' : 'failed',
        message: steps
          .filter((s) => s.status === 'failed')
          .map((s) => `${s.name}: ${s.message}`)
          .join('\n'),
        name: fileURLToPath(import.meta.url),
      },
    ],
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  return { passed, failed, pending };
}

// ---------------------------------------------------------------------------------------------------
// Main

let exitCode = 1;
try {
  log(`pack check: ${PACKAGES.map((p) => p.name).join(', ')} (Node ${process.version}, temp dir ${tmpRoot})`);
  for (const pkg of PACKAGES) {
    if (!existsSync(join(pkg.dir, 'package.json'))) throw new Error(`${pkg.dir}/package.json not found`);
  }
  const compiler = findCompiler();
  nativeExpected = compiler != null || REQUIRE_NATIVE;
  log(
    compiler
      ? `C++ compiler: ${compiler.cxx} (${compiler.version}): the native checks run`
      : REQUIRE_NATIVE
        ? 'C++ compiler: none on PATH, and BMP_REQUIRE_NATIVE=1: the native checks will fail'
        : 'C++ compiler: none on PATH: the native checks are skipped (BMP_REQUIRE_NATIVE=1 makes that a failure)',
  );

  const packed = {};
  for (const pkg of PACKAGES)
    packed[pkg.key] = await step(`pnpm pack ${pkg.name}`, false, () => packPackage(pkg));
  for (const pkg of PACKAGES) {
    const name = `tarball contents ${pkg.key}`;
    if (packed[pkg.key]) await step(name, true, () => checkTarball(pkg));
    else skipped(name, `pnpm pack ${pkg.name} failed`);
  }

  const consumerDir = join(tmpRoot, 'consumer');
  let installed = false;
  if (PACKAGES.every((p) => packed[p.key])) {
    installed = await step('npm install tarballs', false, () => installConsumer(consumerDir));
  }
  const notInstalled = PACKAGES.every((p) => packed[p.key]) ? 'npm install failed' : 'packing failed';
  for (const mode of ['esm', 'cjs']) {
    if (installed) await step(mode, true, () => runConsumer(consumerDir, mode));
    else skipped(mode, notInstalled);
  }
  for (const mode of ['esm', 'cjs', 'esm BMP_NATIVE_ISA=avx2']) {
    const name = `native ${mode}`;
    const isa = mode.includes('=') ? mode.split('=')[1] : undefined;
    if (!nativeExpected) {
      skippedWithNote(
        name,
        `no C++ compiler (${COMPILER_CANDIDATES_TEXT}) on PATH, so @bmp/backends-native has no prebuilds and ` +
          '@bmp/backends runs its WebAssembly kernels; BMP_REQUIRE_NATIVE=1 makes this a failure',
      );
    } else if (isa && nativeResults.esm && !nativeResults.esm.supported.includes(isa)) {
      skippedWithNote(
        name,
        `this CPU does not run ${isa} (it runs: ${nativeResults.esm.supported.join(', ')})`,
      );
    } else if (installed)
      await step(name, true, () => runNative(consumerDir, isa ? 'esm' : mode, compiler, isa));
    else skipped(name, notInstalled);
  }

  const { passed, failed, pending } = writeResults();
  const failedSteps = steps.filter((s) => s.status === 'failed');
  log('\n=== pack check summary');
  const label = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' };
  for (const s of steps) log(`  ${label[s.status]}  ${s.name} (${seconds(s.ms)})`);
  for (const mode of ['esm', 'cjs']) {
    if (losses[mode]) {
      log(`  ${mode}: loss ${losses[mode].first.toFixed(4)} -> ${losses[mode].last.toFixed(4)}`);
    }
  }
  log(`  ${passed} passed, ${failed} failed, ${pending} skipped in ${seconds(Date.now() - startedAt)}`);
  if (failedSteps.length === 0) {
    log('PASS: pack check');
    exitCode = 0;
  } else {
    log(`FAIL: pack check (failed: ${failedSteps.map((s) => s.name).join('; ')})`);
  }
} catch (err) {
  steps.push({
    name: 'pack check',
    status: 'failed',
    message: String(err?.stack ?? err),
    ms: 0,
    counted: true,
  });
  writeResults();
  log(`FAIL: pack check (${err instanceof Error ? err.message : err})`);
} finally {
  cleanup();
}
process.exit(exitCode);
