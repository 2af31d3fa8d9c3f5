import { defineConfig } from 'tsup';

// The Node server (the web app is built by Vite into dist/web).
export default defineConfig({
  entry: { cli: 'src/server/bin.ts' },
  outDir: 'dist/server',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  clean: true,
});
