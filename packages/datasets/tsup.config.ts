import { bmpLibraryConfig } from '@bmp/tsup-config';

export default bmpLibraryConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  // Shims `import.meta.url` in the CJS build, which embedded.ts uses to find data/.
  shims: true,
  // Shared chunks for both formats, so that @bmp/datasets/testing and @bmp/datasets share one copy of
  // each module (one DatasetError class) in CommonJS too.
  splitting: true,
});
