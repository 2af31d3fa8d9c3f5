import { defineConfig } from 'tsup';

/**
 * How every published @bmp package is built: ESM and CommonJS with their own type declarations (the
 * `exports` map names both), source maps, ES2022, and tfjs and the other @bmp packages left external
 * (peers and dependencies: one tfjs-core engine, one copy of each package). `overrides` adds
 * package-specific options (more entries, shims, splitting).
 */
export function bmpLibraryConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@bmp\//],
    ...overrides,
  });
}
