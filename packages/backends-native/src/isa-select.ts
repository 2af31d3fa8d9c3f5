// Which addon variant to load: the widest one the CPU runs and a fitting binary exists for, or the one
// BMP_NATIVE_ISA names. Pure (features and binaries are passed in), so tests can play any CPU.
import { type IsaVariant, variantsFor } from '../scripts/native-target.mjs';

/** The environment variable that forces an instruction set (lower than the best, for tests and users). */
export const ISA_ENV = 'BMP_NATIVE_ISA';

/**
 * The variants whose required features, and those of every lower variant (a level includes the ones
 * below it), are all in `features`; lowest first.
 */
export function supportedIsas(arch: string, features: ReadonlySet<string>): string[] {
  const supported: string[] = [];
  for (const v of variantsFor(arch) as IsaVariant[]) {
    if (![...v.requires, ...v.requiresCpuid].every((f) => features.has(f))) break;
    supported.push(v.isa);
  }
  return supported;
}

export type IsaSelection = { isa: string; why: string } | { isa: null; why: string };

/**
 * Picks from `available` (the variants with a fitting binary) and `supported` (what the CPU runs): the
 * widest of both, or `requested` when set, which is refused (isa null) when the CPU lacks it or no
 * fitting binary holds it; loading it anyway could kill the process with SIGILL.
 */
export function selectIsa(
  arch: string,
  available: readonly string[],
  supported: readonly string[],
  requested: string | undefined,
): IsaSelection {
  const known = variantsFor(arch).map((v) => v.isa);
  const list = (xs: readonly string[]) => (xs.length > 0 ? xs.join(', ') : 'none');
  if (requested != null) {
    if (!known.includes(requested)) {
      return {
        isa: null,
        why: `${ISA_ENV}=${requested} is not an instruction set of the ${arch} build (${list(known)}, or unset for the best)`,
      };
    }
    if (!supported.includes(requested)) {
      return {
        isa: null,
        why: `${ISA_ENV}=${requested}, but this CPU does not support ${requested} (it runs: ${list(supported)}); not loaded, since an unsupported instruction would kill the process (SIGILL)`,
      };
    }
    if (!available.includes(requested)) {
      return {
        isa: null,
        why: `${ISA_ENV}=${requested}, but no fitting ${requested} binary is installed (available: ${list(available)})`,
      };
    }
    return { isa: requested, why: `${ISA_ENV}=${requested}` };
  }
  const runnable = known.filter((isa) => available.includes(isa) && supported.includes(isa));
  const best = runnable[runnable.length - 1];
  if (best == null) {
    return {
      isa: null,
      why: `no installed variant runs on this CPU (available: ${list(available)}; this CPU runs: ${list(supported)})`,
    };
  }
  return { isa: best, why: 'the best this CPU runs' };
}

/** BMP_NATIVE_ISA's value, or undefined when unset, empty or `best`. */
export function requestedIsa(env: NodeJS.ProcessEnv): string | undefined {
  const v = env[ISA_ENV]?.trim().toLowerCase();
  return v == null || v === '' || v === 'best' ? undefined : v;
}
