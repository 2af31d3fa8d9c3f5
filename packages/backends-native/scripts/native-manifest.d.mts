// Types of native-manifest.mjs (imported by the loader in src/, bundled into dist by tsup).
import type { HostTarget } from './native-target.mjs';

export interface ManifestBinary {
  isa: string;
  file: string;
  sha256: string;
  flags?: string[];
}
export interface NativeManifest {
  manifestVersion: number;
  package?: string;
  napiVersion: number;
  platform: string;
  arch: string;
  libc: string | null;
  glibc?: string | null;
  sourceHash: string;
  compiler?: { command: string; version: string };
  builtAt?: string;
  binaries: ManifestBinary[];
}
export declare const MANIFEST_FILE: string;
export declare function readManifest(
  dir: string,
): { manifest: NativeManifest; problem?: undefined } | { problem: string; manifest?: undefined };
export declare function checkManifest(
  manifest: NativeManifest,
  host: HostTarget,
  sources: string,
): { problems: string[]; binaries: ManifestBinary[] };
export declare function verifyBinary(dir: string, entry: ManifestBinary): string | null;
export declare function writeManifest(dir: string, fields: Record<string, unknown>): NativeManifest;
