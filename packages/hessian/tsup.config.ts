import { bmpLibraryConfig } from '@bmp/tsup-config';

// `@bmp/hessian/kernels` (src/kernels.ts): the custom kernels' contract, its own entry.
export default bmpLibraryConfig({ entry: ['src/index.ts', 'src/kernels.ts'] });
