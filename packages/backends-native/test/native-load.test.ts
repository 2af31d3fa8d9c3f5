// loadNativeKernelsFrom on copies of this package: a manifest that does not fit (platform, sources,
// glibc) or a binary that does not match its manifest is refused with the reason and never loaded;
// BMP_NATIVE_ISA loads the variant it names, and one the CPU lacks (as /proc/cpuinfo tells it) is refused;
// with nothing built the reason tells pnpm users what to allow.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostTarget, prebuildDirName } from '../scripts/native-target.mjs';
import { loadNativeKernelsFrom, packageDir } from '../src';
import { readCpuinfoFlags } from '../src/cpu-flags';
import { nativeDescribe, nativeLoad } from './native';

const describeNative = nativeDescribe('native-load tests');
const host = hostTarget();
const PREBUILDS = join('prebuilds', prebuildDirName(host));
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A copy of the package's C++ sources and (with `withBinaries`) of its prebuilds for this host. */
function packageCopy(withBinaries = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'bmp-native-load-'));
  temps.push(dir);
  cpSync(join(packageDir, 'src', 'native'), join(dir, 'src', 'native'), { recursive: true });
  if (withBinaries)
    cpSync(join(packageDir, nativeLoad.choice!.source), join(dir, PREBUILDS), { recursive: true });
  return dir;
}

function editManifest(dir: string, edit: (m: Record<string, unknown>) => void): void {
  const file = join(dir, PREBUILDS, 'manifest.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  edit(manifest);
  writeFileSync(file, JSON.stringify(manifest));
}

describe('nothing built', () => {
  it('says that no prebuild fits and what pnpm users must allow', () => {
    const r = loadNativeKernelsFrom({ packageDir: packageCopy(false), env: {} });
    expect(r.kernels).toBeNull();
    expect(r.choice).toBeNull();
    expect(r.reason).toMatch(/no prebuilt kernels for .* and none compiled at install/);
    expect(r.reason).toMatch(/manifest\.json is missing/);
    expect(r.reason).toMatch(/"pnpm\.onlyBuiltDependencies".*pnpm rebuild @bmp\/backends-native/);
  });
});

describeNative('with the built addon', () => {
  const supported = nativeLoad.choice?.supported ?? [];

  it('loads the best variant the CPU runs by default, and reports the choice', () => {
    const r = loadNativeKernelsFrom({ packageDir, env: {} });
    expect(r.choice?.isa).toBe(supported.filter((i) => r.choice!.available.includes(i)).at(-1));
    expect(r.choice?.why).toBe('the best this CPU runs');
    expect(r.path).toMatch(new RegExp(`bmp_backends_native\\.${r.choice!.isa}\\.node$`));
    expect(r.kernels!.info().isa).toBe(r.choice!.isa);
  });

  it.each(['baseline', 'avx2'])('BMP_NATIVE_ISA=%s loads that variant', (isa) => {
    if (!supported.includes(isa)) return; // an older CPU: covered by the refusal test below
    const r = loadNativeKernelsFrom({ packageDir, env: { BMP_NATIVE_ISA: isa } });
    expect(r.choice).toMatchObject({ isa, why: `BMP_NATIVE_ISA=${isa}` });
    expect(r.kernels!.info().isa).toBe(isa);
    expect(r.reason).toMatch(new RegExp(`^native kernels ${isa} \\(`));
  });

  it('refuses an instruction set that /proc/cpuinfo does not list, and picks the best of the rest', () => {
    const flags = readCpuinfoFlags() ?? new Set<string>();
    for (const f of ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl']) flags.delete(f);
    const asked = loadNativeKernelsFrom({
      packageDir,
      env: { BMP_NATIVE_ISA: 'avx512' },
      cpuinfoFlags: flags,
    });
    expect(asked.kernels).toBeNull();
    expect(asked.reason).toMatch(/BMP_NATIVE_ISA=avx512, but this CPU does not support avx512 .*SIGILL/);
    const best = loadNativeKernelsFrom({ packageDir, env: {}, cpuinfoFlags: flags });
    expect(best.choice?.supported ?? []).not.toContain('avx512');
    expect(best.choice?.isa).not.toBe('avx512');
  });

  it('refuses a binary whose bytes do not match its manifest', () => {
    const dir = packageCopy();
    const isa = nativeLoad.choice!.isa;
    const file = join(dir, PREBUILDS, `bmp_backends_native.${isa}.node`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(file, bytes);
    const r = loadNativeKernelsFrom({ packageDir: dir, env: { BMP_NATIVE_ISA: isa } });
    expect(r.kernels).toBeNull();
    expect(r.reason).toMatch(/does not match its manifest \(sha256/);
  });

  const other = host.libc === 'musl' ? 'glibc' : 'musl';
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['another platform', { platform: 'darwin' }, /built for platform darwin/],
    ['another C library', { libc: other }, new RegExp(`built for libc ${other}`)],
    ['a newer Node-API', { napiVersion: 999 }, /needs Node-API 999/],
    ['a newer glibc', { libc: host.libc, glibc: '99.0' }, /needs glibc 99\.0 .*, this system has/],
    ['another manifest version', { manifestVersion: 2 }, /manifest version 2/],
  ])('refuses a manifest for %s', (what, patch, message) => {
    // A newer glibc can only be told where the host reports one (glibc Linux).
    if (what === 'a newer glibc' && host.glibc == null) return;
    const dir = packageCopy();
    editManifest(dir, (m) => Object.assign(m, patch));
    const r = loadNativeKernelsFrom({ packageDir: dir, env: {} });
    expect(r.kernels).toBeNull();
    expect(r.reason).toMatch(message);
  });

  it('refuses binaries built from other sources than the shipped ones', () => {
    const dir = packageCopy();
    writeFileSync(
      join(dir, 'src', 'native', 'sgd.h'),
      `${readFileSync(join(dir, 'src', 'native', 'sgd.h'), 'utf8')}\n`,
    );
    const r = loadNativeKernelsFrom({ packageDir: dir, env: {} });
    expect(r.kernels).toBeNull();
    expect(r.reason).toMatch(/built from other C\+\+ sources than the ones in src\/native/);
  });

  it('prefers build/ (compiled at install) over prebuilds/ when both fit', () => {
    const dir = packageCopy();
    cpSync(join(dir, PREBUILDS), join(dir, 'build'), { recursive: true });
    const r = loadNativeKernelsFrom({ packageDir: dir, env: {} });
    expect(r.choice?.source).toBe('build');
  });
});
