// What a compiled addon is built for, shared by the build script (which writes it into manifest.json)
// and the loader in src/ (which checks it before loading anything): the instruction-set variants of
// each architecture, this host's platform/arch/libc/Node-API version, where prebuilds live, and the
// hash of the C++ sources. One definition, so that the two sides cannot disagree.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** manifest.json format version; a loader refuses a manifest of another version. */
export const MANIFEST_VERSION = 1;

/** The Node-API version the addon is compiled against (-DNAPI_VERSION). */
export const NAPI_VERSION = 8;

/** The addon's file name for an instruction set. */
export function addonFileName(isa) {
  return `bmp_backends_native.${isa}.node`;
}

/**
 * The variants built per architecture, lowest first: each runs on every CPU that has the features
 * `requires` names (and the lower variants' ones), spelled as in Linux's /proc/cpuinfo; the addon's
 * cpuFeatures() reads them from CPUID under the same names, and both must report them (`requiresCpuid`:
 * CPUID alone). x86-64-v3 and -v4 are the psABI levels (v3: AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE; v4:
 * v3 plus AVX-512 F/BW/CD/DQ/VL); a level includes the ones below it.
 */
export const ISA_VARIANTS = {
  x64: [
    {
      isa: 'baseline',
      flags: ['-march=x86-64-v2', '-mtune=generic'],
      requires: ['sse4_2', 'ssse3', 'popcnt'],
      requiresCpuid: [],
    },
    {
      isa: 'avx2',
      flags: ['-march=x86-64-v3', '-mtune=generic'],
      requires: ['avx', 'avx2', 'fma', 'bmi1', 'bmi2', 'f16c', 'movbe'],
      // LZCNT: Linux lists it as `abm` only where the hypervisor passes the flag through, so only CPUID counts.
      requiresCpuid: ['abm'],
    },
    {
      isa: 'avx512',
      flags: ['-march=x86-64-v4', '-mtune=generic'],
      requires: ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'],
      requiresCpuid: [],
    },
  ],
  // armv8-a includes NEON (Advanced SIMD); every arm64 CPU that Node.js runs on has it.
  arm64: [{ isa: 'baseline', flags: ['-march=armv8-a'], requires: [], requiresCpuid: [] }],
};

/** The variants for `arch` (empty for architectures without a build). */
export function variantsFor(arch) {
  return ISA_VARIANTS[arch] ?? [];
}

let glibcRuntime;

/** The glibc version Node.js runs on ("2.36"), or null (musl), from process.report (read once: slow). */
function glibcRuntimeVersion() {
  if (glibcRuntime === undefined) {
    const report = process.report;
    if (report && 'excludeNetwork' in report) report.excludeNetwork = true;
    glibcRuntime = report?.getReport()?.header?.glibcVersionRuntime ?? null;
  }
  return glibcRuntime;
}

/** 'glibc', 'musl' or null (not Linux): which C library the running Node.js links against. */
export function detectLibc(platform = process.platform) {
  if (platform !== 'linux') return null;
  return glibcRuntimeVersion() != null ? 'glibc' : 'musl';
}

/** The glibc version of the running Node.js ("2.36"), or null. */
export function detectGlibcVersion(platform = process.platform) {
  return platform === 'linux' ? glibcRuntimeVersion() : null;
}

/** This host: `{ platform, arch, libc, glibc, napi }` (napi: the highest Node-API version Node offers). */
export function hostTarget() {
  return {
    platform: process.platform,
    arch: process.arch,
    libc: detectLibc(),
    glibc: detectGlibcVersion(),
    napi: Number(process.versions.napi),
  };
}

/** The prebuild folder of a target, as prebuild tools name them: linux-x64, linux-x64-musl, darwin-arm64. */
export function prebuildDirName(target) {
  return `${target.platform}-${target.arch}${target.libc === 'musl' ? '-musl' : ''}`;
}

/** The C++ sources an addon is built from (src/native/*.cc and *.h), sorted. */
export function nativeSourceFiles(packageDir) {
  const dir = join(packageDir, 'src', 'native');
  return readdirSync(dir)
    .filter((f) => /\.(cc|h)$/.test(f))
    .sort();
}

/** sha256 over the names and contents of the C++ sources: a binary built from other sources is stale. */
export function sourceHash(packageDir) {
  const hash = createHash('sha256');
  for (const f of nativeSourceFiles(packageDir)) {
    hash.update(`${f}\0`);
    hash.update(readFileSync(join(packageDir, 'src', 'native', f)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** sha256 of a file. */
export function fileHash(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Compares dotted versions: negative, zero or positive as a < b, a = b, a > b. */
export function compareVersions(a, b) {
  const pa = String(a).split('.').map(Number);
  const pb = String(b).split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
