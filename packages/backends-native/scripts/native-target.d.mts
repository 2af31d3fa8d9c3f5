// Types of native-target.mjs (imported by the loader in src/, bundled into dist by tsup).
export declare const MANIFEST_VERSION: number;
export declare const NAPI_VERSION: number;
export interface IsaVariant {
  isa: string;
  flags: string[];
  requires: string[];
  requiresCpuid: string[];
}
export interface HostTarget {
  platform: string;
  arch: string;
  libc: 'glibc' | 'musl' | null;
  glibc: string | null;
  napi: number;
}
export declare const ISA_VARIANTS: Record<string, IsaVariant[]>;
export declare function addonFileName(isa: string): string;
export declare function variantsFor(arch: string): IsaVariant[];
export declare function detectLibc(platform?: string): 'glibc' | 'musl' | null;
export declare function detectGlibcVersion(platform?: string): string | null;
export declare function hostTarget(): HostTarget;
export declare function prebuildDirName(target: Pick<HostTarget, 'platform' | 'arch' | 'libc'>): string;
export declare function nativeSourceFiles(packageDir: string): string[];
export declare function sourceHash(packageDir: string): string;
export declare function fileHash(path: string): string;
export declare function compareVersions(a: string, b: string): number;
