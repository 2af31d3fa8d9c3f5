import { bmpLibraryConfig } from '@bmp/tsup-config';

export default bmpLibraryConfig({
  entry: ['src/index.ts', 'src/node.ts'],
  // Shared chunks for both formats, so that @bmp/runlog/node and @bmp/runlog share one copy of each
  // module (one RunlogSchemaError class) in CommonJS too.
  splitting: true,
});
