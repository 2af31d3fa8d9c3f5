import { defineConfig } from 'vitest/config';

/**
 * Shared vitest config. Every package writes `test-results.json` so that `.ci/run` can print one
 * `N passed, N failed` line for the whole monorepo. Tests run in forked processes because tfjs keeps
 * global engine state (backend, registered kernels) that must not leak between files.
 */
export function bmpVitestConfig(overrides = {}) {
  return defineConfig({
    test: {
      environment: 'node',
      pool: 'forks',
      testTimeout: 60_000,
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results.json' },
      ...overrides,
    },
  });
}
