import { GraphBuilder } from './builder';
import { type InitSpec, resolveInit } from './init';
import { allocateModelName } from './naming';

export interface CommonOptions {
  /** Weight initialisation (default 'he'). */
  init?: InitSpec;
  /** Seed of every random initial value (default 0). */
  seed?: number;
  /** Model name, the prefix of every variable name; must not be in use. Default: `base`, `base_1`, ... */
  name?: string;
  /** BatchNorm momentum, PyTorch convention (running = (1 - m) running + m batch). Default 0.1. */
  batchNormMomentum?: number;
}

export function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function checkMomentum(value: number | undefined): number {
  const m = value ?? 0.1;
  if (!Number.isFinite(m) || m < 0 || m > 1)
    throw new RangeError(`batchNormMomentum must be in [0, 1], got ${m}`);
  return m;
}

export function newBuilder(options: CommonOptions, baseName: string): GraphBuilder {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const init = resolveInit(options.init);
  return new GraphBuilder(allocateModelName(options.name, baseName), init, seed);
}

/** The JSON-serialisable part of the common options, for saved files. */
export function commonConfig(options: CommonOptions): Record<string, unknown> {
  return {
    init: options.init ?? 'he',
    seed: options.seed ?? 0,
    batchNormMomentum: checkMomentum(options.batchNormMomentum),
  };
}
