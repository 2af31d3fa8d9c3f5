import { bmpVitestConfig } from '@bmp/vitest-config';

export default bmpVitestConfig({ testTimeout: 120_000 });
