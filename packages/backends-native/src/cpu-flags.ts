// CPU features from two sources that must agree: Linux's /proc/cpuinfo (readable before any binary is
// loaded, so even the baseline variant is checked first) and the baseline addon's cpuFeatures()
// (CPUID through the compiler, with the OS's AVX register support; on every platform).
import { readFileSync } from 'node:fs';
import type { IsaVariant } from '../scripts/native-target.mjs';

/** The feature flags of the first processor in /proc/cpuinfo text (x86 `flags`, arm64 `Features`), or null. */
export function parseCpuinfoFlags(text: string): Set<string> | null {
  const line = text.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
  if (line == null) return null;
  return new Set(
    line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/)
      .filter(Boolean),
  );
}

/** /proc/cpuinfo's flags, or null where there is no such file (macOS, Windows, some sandboxes). */
export function readCpuinfoFlags(file = '/proc/cpuinfo'): Set<string> | null {
  try {
    return parseCpuinfoFlags(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The features `report` (the addon's cpuFeatures()) says are there. */
export function reportedFlags(report: Record<string, unknown>): Set<string> {
  return new Set(
    Object.entries(report)
      .filter(([, on]) => on === true)
      .map(([name]) => name),
  );
}

/**
 * The features both sources report, for the names in `names` (the variants' requirements): a feature
 * counts only when every source that is there reports it. Null sources are absent.
 */
export function agreedFlags(
  names: readonly string[],
  sources: readonly (ReadonlySet<string> | null)[],
): Set<string> {
  const present = sources.filter((s): s is ReadonlySet<string> => s != null);
  if (present.length === 0) return new Set();
  return new Set(names.filter((n) => present.every((s) => s.has(n))));
}

/**
 * The features the variants need that this CPU has: their `requires` where every source there agrees,
 * their `requiresCpuid` where the addon's CPUID report has them (`reported` null: none of those yet).
 */
export function cpuFeatureSet(
  variants: readonly IsaVariant[],
  cpuinfo: ReadonlySet<string> | null,
  reported: ReadonlySet<string> | null,
): Set<string> {
  const strict = [...new Set(variants.flatMap((v) => v.requires))];
  const features = agreedFlags(strict, [cpuinfo, reported]);
  for (const name of new Set(variants.flatMap((v) => v.requiresCpuid))) {
    if (reported?.has(name)) features.add(name);
  }
  return features;
}
