import { bmpVitestConfig } from '@bmp/vitest-config';

export default bmpVitestConfig({ include: ['test/**/*.test.ts'], testTimeout: 90_000, hookTimeout: 90_000 });
