// Finds, checks and loads the addon variant for this machine: build/ (compiled at install) or
// prebuilds/<platform>-<arch>/ (shipped), whichever first has a manifest that fits this host and the
// shipped sources; then the CPU's features pick the variant (isa-select.ts). Nothing is loaded that a
// manifest does not vouch for or that the CPU might not run.
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import {
  checkManifest,
  type ManifestBinary,
  readManifest,
  verifyBinary,
} from '../scripts/native-manifest.mjs';
import {
  type HostTarget,
  hostTarget,
  prebuildDirName,
  sourceHash,
  variantsFor,
} from '../scripts/native-target.mjs';
import { cpuFeatureSet, readCpuinfoFlags, reportedFlags } from './cpu-flags';
import { requestedIsa, selectIsa, supportedIsas } from './isa-select';
import type { NativeKernels } from './kernels';

/** Which variant was loaded and why. */
export interface NativeIsaChoice {
  /** The variant loaded: 'avx512', 'avx2' or 'baseline' (x64), 'baseline' (arm64). */
  isa: string;
  /** Variants with a fitting binary, lowest first. */
  available: string[];
  /** Variants this CPU runs, lowest first. */
  supported: string[];
  /** Why this one: 'the best this CPU runs' or 'BMP_NATIVE_ISA=avx2'. */
  why: string;
  /** The folder it came from, relative to the package: 'prebuilds/linux-x64' or 'build'. */
  source: string;
}

export interface NativeLoadResult {
  /** The kernels, or null when no fitting addon is there or it does not load. */
  kernels: NativeKernels | null;
  /** The addon loaded (or the folder looked in). */
  path: string;
  /** Why `kernels` is null, or what was loaded. */
  reason: string;
  /** The variant chosen, when one loaded. */
  choice: NativeIsaChoice | null;
}

export interface LoadOptions {
  /** The package root (holds build/, prebuilds/ and src/native/). */
  packageDir: string;
  /** Default process.env (BMP_NATIVE_ISA). */
  env?: NodeJS.ProcessEnv;
  /** Default this process's platform, arch, libc and Node-API version. */
  host?: HostTarget;
  /** /proc/cpuinfo's flags; default read from the file (null where there is none). */
  cpuinfoFlags?: Set<string> | null;
}

const PNPM_HINT =
  'with pnpm 10, which runs dependency build scripts only when allowed, add "@bmp/backends-native" to ' +
  '"pnpm.onlyBuiltDependencies" in package.json and run `pnpm rebuild @bmp/backends-native`; with npm, ' +
  'reinstall with a C++17 compiler on PATH or run `node node_modules/@bmp/backends-native/scripts/build-native.mjs`';

/** The first folder whose manifest fits, with its binaries, or every folder's problem. */
function findFolder(packageDir: string, host: HostTarget) {
  const sources = sourceHash(packageDir);
  const problems: string[] = [];
  for (const dir of [join(packageDir, 'build'), join(packageDir, 'prebuilds', prebuildDirName(host))]) {
    const read = readManifest(dir);
    if (read.problem != null) {
      problems.push(read.problem);
      continue;
    }
    const check = checkManifest(read.manifest, host, sources);
    if (check.problems.length === 0) return { dir, binaries: check.binaries, problems };
    problems.push(`${join(dir, 'manifest.json')} does not fit: ${check.problems.join('; ')}`);
  }
  return { dir: null, binaries: [] as ManifestBinary[], problems };
}

/** Loads the best (or the asked-for) fitting variant; never throws: `reason` says what went wrong. */
export function loadNativeKernelsFrom(options: LoadOptions): NativeLoadResult {
  const { packageDir } = options;
  const host = options.host ?? hostTarget();
  const refuse = (path: string, reason: string): NativeLoadResult => ({
    kernels: null,
    path,
    reason,
    choice: null,
  });
  const variants = variantsFor(host.arch);
  if (variants.length === 0)
    return refuse(packageDir, `no native build for ${host.arch} (x64 and arm64 only)`);
  const folder = findFolder(packageDir, host);
  if (folder.dir == null) {
    return refuse(
      join(packageDir, 'prebuilds', prebuildDirName(host)),
      `no prebuilt kernels for ${prebuildDirName(host)} and none compiled at install (${folder.problems.join('; ')}); ${PNPM_HINT}`,
    );
  }
  const dir = folder.dir;
  const byIsa = new Map(folder.binaries.map((b) => [b.isa, b]));
  const require = createRequire(join(packageDir, 'package.json'));
  const open = (entry: ManifestBinary): { kernels?: NativeKernels; problem?: string } => {
    const mismatch = verifyBinary(dir, entry);
    if (mismatch != null) return { problem: mismatch };
    try {
      const kernels = require(join(dir, entry.file)) as NativeKernels;
      const built = kernels.info().isa;
      if (built !== entry.isa)
        return { problem: `${entry.file} is compiled for ${built}, its manifest says ${entry.isa}` };
      return { kernels };
    } catch (error) {
      return { problem: `${join(dir, entry.file)} does not load: ${(error as Error).message}` };
    }
  };

  // The CPU's features: /proc/cpuinfo first (the baseline's own requirements are checked before it is
  // loaded), then the baseline addon's CPUID report; both must agree (cpu-flags.ts).
  const cpuinfo = options.cpuinfoFlags !== undefined ? options.cpuinfoFlags : readCpuinfoFlags();
  const baselineEntry = byIsa.get(variants[0]!.isa);
  let reported: Set<string> | null = null;
  let baseline: NativeKernels | undefined;
  if (
    baselineEntry != null &&
    (cpuinfo == null || supportedIsas(host.arch, cpuFeatureSet(variants, cpuinfo, null)).length > 0)
  ) {
    const opened = open(baselineEntry);
    if (opened.kernels == null)
      return refuse(join(dir, baselineEntry.file), opened.problem ?? 'does not load');
    baseline = opened.kernels;
    reported = reportedFlags(baseline.cpuFeatures());
  }
  const supported = supportedIsas(host.arch, cpuFeatureSet(variants, cpuinfo, reported));
  const available = [...byIsa.keys()];
  const selection = selectIsa(host.arch, available, supported, requestedIsa(options.env ?? process.env));
  if (selection.isa == null) return refuse(dir, selection.why);
  const entry = byIsa.get(selection.isa)!;
  const opened = entry === baselineEntry && baseline != null ? { kernels: baseline } : open(entry);
  const path = join(dir, entry.file);
  if (opened.kernels == null) return refuse(path, opened.problem ?? 'does not load');
  const { lanes } = opened.kernels.info();
  const source = relative(packageDir, dir).split('\\').join('/');
  return {
    kernels: opened.kernels,
    path,
    reason:
      `native kernels ${selection.isa} (${lanes} float lanes; ${selection.why}; available: ${available.join(', ')}; ` +
      `this CPU runs: ${supported.join(', ')}) from ${source}`,
    choice: { isa: selection.isa, available, supported, why: selection.why, source },
  };
}
