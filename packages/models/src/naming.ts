import * as tf from '@tensorflow/tfjs-core';

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]*$/;

function prefixInUse(name: string): boolean {
  const prefix = `${name}/`;
  return Object.keys(tf.engine().registeredVariables).some((v) => v.startsWith(prefix));
}

/**
 * The model name that prefixes every variable (`${name}/conv3/kernel`). An explicit name that is
 * already in use by registered variables is an error; without one, `base`, `base_1`, `base_2`, ... is
 * the first free name (deterministic for a given creation order, as in Keras).
 */
export function allocateModelName(requested: string | undefined, base: string): string {
  if (requested != null) {
    if (typeof requested !== 'string' || !NAME_PATTERN.test(requested)) {
      throw new TypeError(
        `model name must start with a letter and contain only letters, digits, '_', '.', '-': got ${JSON.stringify(requested)}`,
      );
    }
    if (prefixInUse(requested)) {
      throw new Error(
        `model name '${requested}' is already in use: variables named '${requested}/...' are registered ` +
          '(dispose() the other model first or pass another `name`)',
      );
    }
    return requested;
  }
  if (!prefixInUse(base)) return base;
  for (let i = 1; ; i++) {
    const candidate = `${base}_${i}`;
    if (!prefixInUse(candidate)) return candidate;
  }
}
