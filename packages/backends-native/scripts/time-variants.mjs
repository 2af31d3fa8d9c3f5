// Times the addon variants of this host's prebuilds (and any other addon files given as arguments) on
// the 3x3 convolutions of a paper VGG at width 0.25 (16->16 channels at 32x32, 32 at 16x16, 64 at 8x8,
// 128 at 4x4; batch 64): forward and both gradients, 2 threads, rounds alternating between the binaries
// so that load on the machine hits them alike. Not shipped; a measurement for the README.
//
//   node scripts/time-variants.mjs [rounds] [other.node ...]
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from './native-manifest.mjs';
import { hostTarget, prebuildDirName } from './native-target.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dir = join(ROOT, 'prebuilds', prebuildDirName(hostTarget()));
const read = readManifest(dir);
if (read.problem) throw new Error(read.problem);
const rounds = Number(process.argv[2] ?? 15);
const bins = Object.fromEntries(read.manifest.binaries.map((b) => [b.isa, require(join(dir, b.file))]));
for (const file of process.argv.slice(3)) bins[file] = require(resolve(file));
const supported = new Set(
  Object.entries(bins.baseline.cpuFeatures())
    .filter(([, v]) => v)
    .map(([k]) => k),
);
if (!supported.has('avx512f')) delete bins.avx512;
if (!supported.has('avx2') || !supported.has('fma')) delete bins.avx2;

const values = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const layers = [
  [32, 16],
  [16, 32],
  [8, 64],
  [4, 128],
].map(([hw, c]) => {
  const g = Int32Array.of(64, hw, hw, c, 3, 3, c, hw, hw, 1, 1, 1, 1);
  const x = values(64 * hw * hw * c);
  const w = values(9 * c * c);
  return {
    g,
    x,
    w,
    y: new Float32Array(x.length),
    dw: new Float32Array(w.length),
    dx: new Float32Array(x.length),
  };
});
const times = {};
for (let r = 0; r < rounds; r++) {
  for (const [name, k] of Object.entries(bins)) {
    const t0 = process.hrtime.bigint();
    for (const L of layers) {
      k.convForward(L.x, L.w, L.y, L.g, 2);
      k.convFilterGrad(L.x, L.y, L.dw, L.g, 2);
      k.convInputGrad(L.y, L.w, L.dx, L.g, 2);
    }
    times[name] ??= [];
    times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
for (const [name, t] of Object.entries(times)) {
  const s = [...t].sort((a, b) => a - b);
  console.log(
    `${name}: median ${s[Math.floor(s.length / 2)].toFixed(1)} ms, min ${s[0].toFixed(1)} ms over ${rounds} rounds`,
  );
}
