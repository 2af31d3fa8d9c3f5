import type { UserConfig } from 'vitest/config';

export function bmpVitestConfig(overrides?: NonNullable<UserConfig['test']>): UserConfig;
