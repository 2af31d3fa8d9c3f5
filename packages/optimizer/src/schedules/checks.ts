import type { LearningRateTarget } from './types';

// Option and state validation shared by the schedules. Messages name the schedule and the option so
// that a typo in a config file is found without a debugger.

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  return String(value);
}

function fail(owner: string, name: string, requirement: string, value: unknown): RangeError {
  return new RangeError(`${owner}: ${name} must be ${requirement}, got ${show(value)}`);
}

export function finiteAtLeast(owner: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw fail(owner, name, `a finite number >= ${min}`, value);
  }
  return value;
}

export function positiveFinite(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw fail(owner, name, 'a finite number > 0', value);
  }
  return value;
}

export function integerAtLeast(owner: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw fail(owner, name, `an integer >= ${min}`, value);
  }
  return value;
}

export function oneOf<T extends string>(
  owner: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw fail(owner, name, `one of ${allowed.map(show).join(', ')}`, value);
  }
  return value as T;
}

/**
 * Checks that `options` is a plain object without unknown keys (PyTorch spellings such as `min_lr` or
 * `T_max` would otherwise be silently ignored) and returns it as a record.
 */
export function optionRecord(
  owner: string,
  options: unknown,
  known: readonly string[],
  example: string,
): Record<string, unknown> {
  if (options == null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object such as ${example}, got ${show(options)}`);
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new TypeError(`${owner}: unknown option '${key}' (known: ${known.join(', ')})`);
    }
  }
  return record;
}

export function checkTarget(owner: string, target: unknown): LearningRateTarget {
  const t = target as Partial<LearningRateTarget> | null | undefined;
  if (t == null || typeof t.setLearningRate !== 'function') {
    throw new TypeError(`${owner}: target must have a learningRate and a setLearningRate(lr) method`);
  }
  finiteAtLeast(owner, 'target.learningRate', t.learningRate, 0);
  return t as LearningRateTarget;
}

/** Validates the envelope of a saved state (object, kind, version) and returns it as a record. */
export function stateRecord(owner: string, state: unknown, version: number): Record<string, unknown> {
  const where = `${owner}.loadState`;
  if (state == null || typeof state !== 'object' || Array.isArray(state)) {
    throw new TypeError(`${where}: state must be an object returned by ${owner}.state(), got ${show(state)}`);
  }
  const record = state as Record<string, unknown>;
  if (record.kind !== owner) {
    throw new TypeError(`${where}: state is of kind ${show(record.kind)}, expected '${owner}'`);
  }
  if (record.version !== version) {
    throw new RangeError(`${where}: unsupported state version ${show(record.version)} (expected ${version})`);
  }
  return record;
}

/** JSON has no Infinity (it becomes null); ReduceLROnPlateau's initial `best` is +-Infinity. */
export type JsonNumber = number | 'Infinity' | '-Infinity';

export function toJsonNumber(value: number): JsonNumber {
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

export function fromJsonNumber(owner: string, name: string, value: unknown): number {
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw fail(owner, name, "a finite number, 'Infinity' or '-Infinity'", value);
  }
  return value;
}
