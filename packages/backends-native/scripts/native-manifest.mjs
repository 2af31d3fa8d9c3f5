// manifest.json beside the compiled addons (prebuilds/<platform>-<arch>/ or build/): what each binary was
// built for and from. The build script writes it; the build script (is a compile needed?) and the loader
// (may this binary run here?) check it with the same function, so a binary built for another
// platform, C library, Node-API version or from other sources is never loaded.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareVersions, fileHash, MANIFEST_VERSION, NAPI_VERSION, variantsFor } from './native-target.mjs';

export const MANIFEST_FILE = 'manifest.json';

/** `{ manifest }`, or `{ problem }` naming the file when it is missing or not a manifest object. */
export function readManifest(dir) {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return { problem: `${file} is missing` };
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { problem: `${file} is not valid JSON (${error.message})` };
  }
  if (manifest == null || typeof manifest !== 'object' || !Array.isArray(manifest.binaries)) {
    return { problem: `${file} has no "binaries" list` };
  }
  return { manifest };
}

/**
 * Whether `manifest` fits `host` ({ platform, arch, libc, glibc, napi }) and `sources` (the hash of the
 * shipped C++ sources): `problems` rule out the whole folder; `binaries` are the entries that name a
 * variant of this architecture, lowest ISA first. File hashes are checked by `verifyBinary`.
 */
export function checkManifest(manifest, host, sources) {
  const problems = [];
  const want = (field, expected) => {
    if (manifest[field] !== expected) {
      problems.push(`built for ${field} ${manifest[field] ?? '(none)'}, this is ${expected ?? '(none)'}`);
    }
  };
  if (manifest.manifestVersion !== MANIFEST_VERSION) {
    problems.push(`manifest version ${manifest.manifestVersion}, this loader reads ${MANIFEST_VERSION}`);
  }
  want('platform', host.platform);
  want('arch', host.arch);
  want('libc', host.libc);
  if (!Number.isInteger(manifest.napiVersion) || manifest.napiVersion > host.napi) {
    problems.push(`needs Node-API ${manifest.napiVersion}, this Node.js has ${host.napi}`);
  }
  if (
    manifest.libc === 'glibc' &&
    host.glibc &&
    manifest.glibc &&
    compareVersions(manifest.glibc, host.glibc) > 0
  ) {
    problems.push(
      `needs glibc ${manifest.glibc} (the newest symbol version its binaries link), this system has ${host.glibc}`,
    );
  }
  if (manifest.sourceHash !== sources) {
    problems.push('built from other C++ sources than the ones in src/native (source hash differs)');
  }
  const order = variantsFor(host.arch).map((v) => v.isa);
  const binaries = manifest.binaries
    .filter((b) => b && order.includes(b.isa) && typeof b.file === 'string' && !/[\\/]/.test(b.file))
    .sort((a, b) => order.indexOf(a.isa) - order.indexOf(b.isa));
  if (binaries.length === 0)
    problems.push(`lists no binary for ${host.arch} (${order.join(', ') || 'none built'})`);
  return { problems, binaries };
}

/** null when `dir/entry.file` exists with the manifest's sha256, else why not. */
export function verifyBinary(dir, entry) {
  const file = join(dir, entry.file);
  if (!existsSync(file)) return `${file} is missing`;
  const actual = fileHash(file);
  return actual === entry.sha256
    ? null
    : `${file} does not match its manifest (sha256 ${actual.slice(0, 12)}..., manifest says ${String(entry.sha256).slice(0, 12)}...)`;
}

/** Writes `dir/manifest.json` through a temporary file and a rename. */
export function writeManifest(dir, fields) {
  const manifest = {
    manifestVersion: MANIFEST_VERSION,
    package: '@bmp/backends-native',
    napiVersion: NAPI_VERSION,
    ...fields,
  };
  const file = join(dir, MANIFEST_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, file);
  return manifest;
}
