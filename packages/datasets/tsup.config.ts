import { bmpLibraryConfig } from '@bmp/tsup-config';

// Shims `import.meta.url` in the CJS build, which embedded.ts uses to find data/.
export default bmpLibraryConfig({ shims: true });
