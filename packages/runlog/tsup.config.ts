import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // Shared chunks for both formats, so that @bmp/runlog/node and @bmp/runlog share one copy of each
  // module (one RunlogSchemaError class) in CommonJS too.
  splitting: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@bmp\//],
});
