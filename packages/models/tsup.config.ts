import { bmpLibraryConfig } from '@bmp/tsup-config';

export default bmpLibraryConfig({
  entry: ['src/index.ts', 'src/internals.ts'],
  // Shared chunks for both formats: @bmp/models/internals and @bmp/models share one copy of each module.
  splitting: true,
});
