import { bmpLibraryConfig } from '@bmp/tsup-config';

export default bmpLibraryConfig({
  entry: ['src/index.ts', 'src/internals.ts'],
  // Shared chunks for both formats: @bmp/backmatching/internals and @bmp/backmatching share one copy of
  // each module.
  splitting: true,
});
