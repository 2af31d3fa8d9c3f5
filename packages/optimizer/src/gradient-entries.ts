import * as tf from '@tensorflow/tfjs-core';

/** The array form of gradients (tfjs-core's NamedTensor, which it does not export at top level). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** One variable of a step with its gradient; `gradient` is null when the variable got none (frozen). */
export interface GradientEntry {
  name: string;
  variable: tf.Variable;
  gradient: tf.Tensor | null;
}

/**
 * Normalises the two forms `applyGradients` receives: the map `{ [variableName]: gradient }` and the
 * `NamedTensor[]` array that `Optimizer.minimize(f, returnCost, varList)` (hence `LayersModel.fit`)
 * passes. Throws, naming the variable, on unknown names and on gradient shapes that do not match.
 */
export function gradientEntries(gradients: tf.NamedTensorMap | NamedTensor[]): GradientEntry[] {
  const pairs: Array<[string, tf.Tensor | null | undefined]> = Array.isArray(gradients)
    ? gradients.map((g) => [g.name, g.tensor])
    : Object.entries(gradients);
  const registered = tf.engine().registeredVariables;
  return pairs.map(([name, gradient]) => {
    const variable = registered[name];
    if (variable == null) {
      throw new Error(`applyGradients: no variable named '${name}' is registered with tfjs`);
    }
    if (gradient != null && !tf.util.arraysEqual(gradient.shape, variable.shape)) {
      throw new Error(
        `applyGradients: the gradient for '${name}' has shape [${gradient.shape}] but the variable has shape [${variable.shape}]`,
      );
    }
    return { name, variable, gradient: gradient ?? null };
  });
}
