import { bmpLibraryConfig } from '@bmp/tsup-config';

export default bmpLibraryConfig({
  entry: ['src/index.ts', 'src/internals.ts'],
  // Shared chunks for both formats, so that @bmp/backends/internals and @bmp/backends share one copy of
  // each module (one table of kernel modes) in CommonJS too.
  splitting: true,
});
