import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const common = {
  sourcemap: true,
  target: 'es2022' as const,
  external: [/^@tensorflow\//, /^@bmp\//],
  define: { __TRAINER_VERSION__: JSON.stringify(version) },
  shims: true,
};

export default defineConfig([
  { ...common, entry: ['src/index.ts'], format: ['esm', 'cjs'], dts: true, clean: true },
  { ...common, entry: { cli: 'src/cli.ts' }, format: ['esm'], dts: false, clean: false, banner: { js: '#!/usr/bin/env node' } },
]);
