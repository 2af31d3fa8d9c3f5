// The choice of variant from injected CPU features and binaries (no addon needed): the best the CPU runs,
// BMP_NATIVE_ISA picking a lower one, and refusals (CPU lacks it, no binary, unknown name) that say why.
import { describe, expect, it } from 'vitest';
import { compareVersions, ISA_VARIANTS, prebuildDirName } from '../scripts/native-target.mjs';
import { agreedFlags, cpuFeatureSet, parseCpuinfoFlags } from '../src/cpu-flags';
import { requestedIsa, selectIsa, supportedIsas } from '../src/isa-select';

const X64 = ISA_VARIANTS.x64!;
const V2 = ['sse4_2', 'ssse3', 'popcnt'];
const V3 = ['avx', 'avx2', 'fma', 'bmi1', 'bmi2', 'f16c', 'movbe', 'abm'];
const V4 = ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'];
const ALL = ['baseline', 'avx2', 'avx512'];

describe('supportedIsas', () => {
  it('a level counts only with every feature of it and of the levels below', () => {
    expect(supportedIsas('x64', new Set([...V2, ...V3, ...V4]))).toEqual(ALL);
    expect(supportedIsas('x64', new Set([...V2, ...V3]))).toEqual(['baseline', 'avx2']);
    // AVX-512 flags without AVX2's (a hypervisor that masks some): avx512 is not taken.
    expect(supportedIsas('x64', new Set([...V2, ...V4]))).toEqual(['baseline']);
    expect(supportedIsas('x64', new Set([...V2, ...V3.filter((f) => f !== 'fma'), ...V4]))).toEqual([
      'baseline',
    ]);
    expect(supportedIsas('x64', new Set(['sse4_2']))).toEqual([]);
  });

  it('arm64 has one variant that every arm64 CPU runs; unknown architectures none', () => {
    expect(supportedIsas('arm64', new Set())).toEqual(['baseline']);
    expect(supportedIsas('ia32', new Set(V2))).toEqual([]);
  });
});

describe('selectIsa', () => {
  it('takes the best variant that is both installed and supported', () => {
    expect(selectIsa('x64', ALL, ALL, undefined)).toEqual({ isa: 'avx512', why: 'the best this CPU runs' });
    expect(selectIsa('x64', ALL, ['baseline', 'avx2'], undefined).isa).toBe('avx2');
    expect(selectIsa('x64', ['baseline', 'avx2'], ALL, undefined).isa).toBe('avx2');
    const none = selectIsa('x64', ['avx512'], ['baseline'], undefined);
    expect(none.isa).toBeNull();
    expect(none.why).toMatch(
      /no installed variant runs on this CPU \(available: avx512; this CPU runs: baseline\)/,
    );
  });

  it('BMP_NATIVE_ISA picks a lower one', () => {
    expect(selectIsa('x64', ALL, ALL, 'avx2')).toEqual({ isa: 'avx2', why: 'BMP_NATIVE_ISA=avx2' });
    expect(selectIsa('x64', ALL, ALL, 'baseline').isa).toBe('baseline');
  });

  it('refuses an instruction set the CPU lacks, with the reason (never loaded: SIGILL)', () => {
    const r = selectIsa('x64', ALL, ['baseline', 'avx2'], 'avx512');
    expect(r.isa).toBeNull();
    expect(r.why).toMatch(
      /BMP_NATIVE_ISA=avx512, but this CPU does not support avx512 \(it runs: baseline, avx2\).*SIGILL/,
    );
  });

  it('refuses one without a fitting binary, and a name that is no variant', () => {
    expect(selectIsa('x64', ['baseline'], ALL, 'avx2').why).toMatch(
      /no fitting avx2 binary is installed \(available: baseline\)/,
    );
    const unknown = selectIsa('x64', ALL, ALL, 'avx9');
    expect(unknown.isa).toBeNull();
    expect(unknown.why).toMatch(
      /BMP_NATIVE_ISA=avx9 is not an instruction set of the x64 build \(baseline, avx2, avx512/,
    );
    expect(selectIsa('arm64', ['baseline'], ['baseline'], 'avx2').isa).toBeNull();
  });

  it('reads BMP_NATIVE_ISA: unset, empty and "best" mean the best; case and spaces ignored', () => {
    expect(requestedIsa({})).toBeUndefined();
    expect(requestedIsa({ BMP_NATIVE_ISA: '' })).toBeUndefined();
    expect(requestedIsa({ BMP_NATIVE_ISA: 'best' })).toBeUndefined();
    expect(requestedIsa({ BMP_NATIVE_ISA: ' AVX2 ' })).toBe('avx2');
  });
});

describe('CPU features', () => {
  it('parses the flags of /proc/cpuinfo (x86 flags, arm64 Features)', () => {
    const x86 =
      'processor\t: 0\nflags\t\t: fpu sse4_2 avx2 avx512f\nbugs\t\t: spectre\nprocessor\t: 1\nflags\t: fpu\n';
    expect(parseCpuinfoFlags(x86)).toEqual(new Set(['fpu', 'sse4_2', 'avx2', 'avx512f']));
    expect(parseCpuinfoFlags('processor\t: 0\nFeatures\t: fp asimd crc32\n')).toEqual(
      new Set(['fp', 'asimd', 'crc32']),
    );
    expect(parseCpuinfoFlags('no flags here\n')).toBeNull();
  });

  it('a feature counts only when every source there reports it', () => {
    expect(agreedFlags(['a', 'b', 'c'], [new Set(['a', 'b']), new Set(['b', 'c'])])).toEqual(new Set(['b']));
    expect(agreedFlags(['a', 'b'], [null, new Set(['a'])])).toEqual(new Set(['a']));
    expect(agreedFlags(['a'], [null, null])).toEqual(new Set());
  });

  it('/proc/cpuinfo can veto AVX-512 that CPUID reports; LZCNT (abm) comes from CPUID alone', () => {
    const cpuid = new Set([...V2, ...V3, ...V4]);
    const procWithoutAbm = new Set([...V2, ...V3.filter((f) => f !== 'abm'), ...V4]);
    expect(supportedIsas('x64', cpuFeatureSet(X64, procWithoutAbm, cpuid))).toEqual(ALL);
    const procWithoutAvx512 = new Set([...V2, ...V3]);
    expect(supportedIsas('x64', cpuFeatureSet(X64, procWithoutAvx512, cpuid))).toEqual(['baseline', 'avx2']);
    // Before the baseline addon is loaded (no CPUID report): only /proc/cpuinfo, enough for the baseline.
    expect(supportedIsas('x64', cpuFeatureSet(X64, cpuid, null))).toEqual(['baseline']);
  });
});

describe('native-target', () => {
  it('names prebuild folders as prebuild tools do (musl gets its own)', () => {
    expect(prebuildDirName({ platform: 'linux', arch: 'x64', libc: 'glibc' })).toBe('linux-x64');
    expect(prebuildDirName({ platform: 'linux', arch: 'arm64', libc: 'musl' })).toBe('linux-arm64-musl');
    expect(prebuildDirName({ platform: 'darwin', arch: 'arm64', libc: null })).toBe('darwin-arm64');
  });

  it('compares glibc versions numerically', () => {
    expect(compareVersions('2.36', '2.4')).toBeGreaterThan(0);
    expect(compareVersions('2.35', '2.35.0')).toBe(0);
    expect(compareVersions('2.28', '2.31')).toBeLessThan(0);
  });
});
