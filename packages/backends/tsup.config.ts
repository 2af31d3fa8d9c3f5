import { bmpLibraryConfig } from '@bmp/tsup-config';

export default bmpLibraryConfig({
  entry: ['src/index.ts', 'src/internals.ts'],
  // Shared chunks for both formats, so that @bmp/backends/internals and @bmp/backends share one copy of
  // each module (one table of kernel modes) in CommonJS too.
  splitting: true,
  // tsup makes the CommonJS chunks from ESM ones and leaves `import.meta` in them, a syntax error in
  // CommonJS. There node-threads.ts reads __filename and never import.meta.url, which esbuild's own
  // CommonJS output (without splitting) makes undefined too: so does this.
  esbuildOptions(options: { define?: Record<string, string> }, context: { format: string }) {
    if (context.format === 'cjs') options.define = { ...options.define, 'import.meta.url': 'undefined' };
  },
});
