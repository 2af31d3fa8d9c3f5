import { bmpVitestConfig } from '@bmp/vitest-config';

// One long sequence of steps (each needs the one before): a single file, generous timeouts.
export default bmpVitestConfig({ testTimeout: 6 * 60_000, hookTimeout: 2 * 60_000 });
