import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Shims `import.meta.url` in the CJS build, which embedded.ts uses to find data/.
  shims: true,
  external: [/^@tensorflow\//, /^@bmp\//],
});
