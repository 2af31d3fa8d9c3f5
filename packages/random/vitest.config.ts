import { bmpVitestConfig } from '@bmp/vitest-config';

export default bmpVitestConfig();
