// The pack check's view of @bmp/backends-native's prebuilds: what the tarball must hold for this host
// (prebuilds/<platform>-<arch>/manifest.json and every binary it lists, with matching hashes, built from
// the C++ sources the tarball ships), checked with the package's own manifest code.
import { createHash } from 'node:crypto';
import { checkManifest } from '../../packages/backends-native/scripts/native-manifest.mjs';
import { hostTarget, prebuildDirName } from '../../packages/backends-native/scripts/native-target.mjs';

/** This host's prebuild folder inside the package ('prebuilds/linux-x64'). */
export const HOST_PREBUILDS = `prebuilds/${prebuildDirName(hostTarget())}`;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The source hash of the tarball's src/native/*.cc and *.h, computed as native-target.mjs does. */
function tarballSourceHash(files) {
  const hash = createHash('sha256');
  const names = [...files.keys()].filter((p) => /^src\/native\/[^/]+\.(cc|h)$/.test(p)).sort();
  for (const path of names) {
    hash.update(`${path.slice('src/native/'.length)}\0`);
    hash.update(files.get(path));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/**
 * Problems with the host's prebuilds in a tarball's `files` (path -> bytes), or none; `summary` lists
 * the binaries shipped for every platform.
 */
export function checkPrebuilds(files) {
  const problems = [];
  const manifestPath = `${HOST_PREBUILDS}/manifest.json`;
  const shipped = [...files.keys()].filter((p) => p.startsWith('prebuilds/')).sort();
  const raw = files.get(manifestPath);
  if (raw == null) {
    problems.push(
      `no ${manifestPath} (the monorepo build writes the prebuilds for this host: \`pnpm --filter @bmp/backends-native build\`)`,
    );
    return { problems, summary: shipped.join(', ') || 'none' };
  }
  let manifest;
  try {
    manifest = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    problems.push(`${manifestPath} is not JSON (${error.message})`);
    return { problems, summary: shipped.join(', ') };
  }
  const check = checkManifest(manifest, hostTarget(), tarballSourceHash(files));
  problems.push(...check.problems.map((p) => `${manifestPath}: ${p}`));
  for (const b of check.binaries) {
    const bytes = files.get(`${HOST_PREBUILDS}/${b.file}`);
    if (bytes == null) problems.push(`${manifestPath} lists ${b.file}, which is not in the tarball`);
    else if (sha256(bytes) !== b.sha256)
      problems.push(`${HOST_PREBUILDS}/${b.file} does not match its manifest's sha256`);
  }
  const listed = new Set(check.binaries.map((b) => `${HOST_PREBUILDS}/${b.file}`));
  const stray = shipped.filter(
    (p) => p.startsWith(`${HOST_PREBUILDS}/`) && p !== manifestPath && !listed.has(p),
  );
  if (stray.length > 0)
    problems.push(`files in ${HOST_PREBUILDS} that its manifest does not list: ${stray.join(', ')}`);
  return { problems, summary: shipped.join(', '), isas: check.binaries.map((b) => b.isa) };
}
