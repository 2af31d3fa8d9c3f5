import { buildGraph } from './builder';
import { type CommonOptions, checkMomentum, commonConfig, newBuilder, positiveInt } from './common';
import { Network } from './network';

export interface MlpOptions extends CommonOptions {
  /** Layer sizes `[nIn, hidden..., nOut]`: `sizes.length - 1` bias-free dense layers. */
  sizes: number[];
  /** Batch normalisation without affine parameters after every hidden dense layer. Default false. */
  batchNorm?: boolean;
  /**
   * Input feature shape; its product must equal `sizes[0]`; a non-flat shape (`[28, 28, 1]`) is flattened
   * first. Default `[sizes[0]]`.
   */
  inputShape?: number[];
}

/**
 * A bias-free multilayer perceptron: dense -> [BN without affine] -> ReLU for every hidden layer, then a
 * dense output layer (logits). Layers `dense{i}`, `bn{i}`, `relu{i}` (i from 1); the output layer is
 * `dense{L}`.
 */
export function mlp(options: MlpOptions): Network {
  const sizes = options.sizes;
  if (!Array.isArray(sizes) || sizes.length < 2) throw new RangeError('sizes must list at least [nIn, nOut]');
  for (const [i, s] of sizes.entries()) positiveInt(`sizes[${i}]`, s);
  const inputShape = options.inputShape ?? [sizes[0]];
  if (inputShape.reduce((a, b) => a * b, 1) !== sizes[0]) {
    throw new RangeError(
      `inputShape [${inputShape}] has ${inputShape.reduce((a, b) => a * b, 1)} features, sizes[0] is ${sizes[0]}`,
    );
  }
  const batchNorm = options.batchNorm ?? false;
  const momentum = checkMomentum(options.batchNormMomentum);
  const builder = newBuilder(options, 'mlp');
  return buildGraph(builder, (b) => {
    let x = b.input(inputShape);
    if (inputShape.length > 1) x = b.flatten(x, 'flatten');
    for (let i = 1; i < sizes.length; i++) {
      x = b.dense(x, `dense${i}`, sizes[i]);
      if (i < sizes.length - 1) {
        if (batchNorm) x = b.batchNorm(x, `bn${i}`);
        x = b.relu(x, `relu${i}`);
      }
    }
    return new Network({
      name: builder.modelName,
      architecture: 'mlp',
      config: { sizes: [...sizes], batchNorm, inputShape: [...inputShape], ...commonConfig(options) },
      nodes: b.nodes,
      outputId: x,
      batchNormMomentum: momentum,
    });
  });
}
