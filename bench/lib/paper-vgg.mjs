// The paper's VGG (DESIGN.md "Paper VGG"; same network as /work/shared/bench/torch_reference.py)
// built from tfjs-core ops and variables, for the benchmarks:
//   conv3x3 (stride 1, 'same', no bias) -> BatchNorm without affine parameters, batch statistics
//   -> ReLU, a 2x2 max-pool closing every stage, then one bias-free dense classifier.
// Channels are max(1, round(v * width)). At width 1, depth 13, 10 classes: 9,407,168 weights.
//
// TODO(@bmp/models): the real model lives (will live) in @bmp/models; this copy exists so that the
// benchmarks can run before that package does.
import { tf } from './tf.mjs';

export const VGG_CONFIGS = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/** Weights of paper VGG13 at width 1 with 10 classes (conv kernels plus the classifier). */
export const VGG13_WIDTH1_WEIGHTS = 9_407_168;

const BN_EPSILON = 1e-5;

/**
 * The layer plan, without allocating anything: conv layers with their weight shapes and positions,
 * pools, and the classifier. Spatial sizes follow 'same' convolutions and 2x2/2 'valid' pooling.
 */
export function paperVggLayout({
  depth = 13,
  width = 1,
  inChannels = 3,
  numClasses = 10,
  inputSize = 32,
} = {}) {
  const config = VGG_CONFIGS[depth];
  if (config == null) {
    throw new Error(`paper VGG depth ${depth} is not defined; known: ${Object.keys(VGG_CONFIGS).join(', ')}`);
  }
  if (!(width > 0)) throw new Error(`width must be > 0, got ${width}`);
  const layers = [];
  let channels = inChannels;
  let size = inputSize;
  let conv = 0;
  for (const v of config) {
    if (v === 'M') {
      if (size < 2) throw new Error(`input size ${inputSize} is too small for depth ${depth} (5 pools)`);
      layers.push({ kind: 'pool', inputSize: size, outputSize: Math.floor(size / 2) });
      size = Math.floor(size / 2);
    } else {
      const out = Math.max(1, Math.round(v * width));
      conv += 1;
      layers.push({
        kind: 'conv2d',
        name: `conv${conv}`,
        shape: [3, 3, channels, out],
        inputPositions: size * size,
        outputPositions: size * size,
        size,
      });
      channels = out;
    }
  }
  const features = size * size * channels;
  layers.push({ kind: 'dense', name: 'classifier', shape: [features, numClasses] });
  return layers;
}

/** Number of weights (all are kernels: the network has no biases and no affine BN parameters). */
export function countWeights(options) {
  return paperVggLayout(options)
    .filter((l) => l.kind !== 'pool')
    .reduce((n, l) => n + l.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Builds the network's variables on the current backend.
 *
 * Returns { variables, blocks, lossFn(x, y), logits(x), numWeights, layout, dispose() } where `blocks`
 * are the @bmp/optimizer / @bmp/hessian block descriptors in forward order, `x` is [N, H, W, C] and
 * `y` one-hot [N, classes]; `lossFn` is the mean softmax cross-entropy (a scalar).
 * Initialisation: He normal for convolutions, N(0, 1/n_in) for the classifier, seeded.
 */
export function buildPaperVGG({
  depth = 13,
  width = 1,
  inChannels = 3,
  numClasses = 10,
  inputSize = 32,
  name = `vgg${depth}`,
  seed = 1,
} = {}) {
  const layout = paperVggLayout({ depth, width, inChannels, numClasses, inputSize });
  const variables = [];
  const blocks = [];
  let nextSeed = seed;
  for (const layer of layout) {
    if (layer.kind === 'pool') continue;
    const fanIn = layer.kind === 'conv2d' ? layer.shape[0] * layer.shape[1] * layer.shape[2] : layer.shape[0];
    const std = layer.kind === 'conv2d' ? Math.sqrt(2 / fanIn) : Math.sqrt(1 / fanIn);
    const init = tf.randomNormal(layer.shape, 0, std, 'float32', nextSeed++);
    const variable = tf.variable(init, true, `${name}/${layer.name}/kernel`);
    init.dispose();
    layer.variable = variable;
    variables.push(variable);
    blocks.push(
      layer.kind === 'conv2d'
        ? {
            weight: variable,
            kind: 'conv2d',
            inputPositions: layer.inputPositions,
            outputPositions: layer.outputPositions,
            strides: 1,
            padding: 'same',
          }
        : { weight: variable, kind: 'dense' },
    );
  }
  const numWeights = variables.reduce((n, v) => n + v.size, 0);

  function logits(x) {
    let h = x;
    for (const layer of layout) {
      if (layer.kind === 'conv2d') {
        h = tf.conv2d(h, layer.variable, 1, 'same');
        // BatchNorm without affine parameters, normalised with the batch's own statistics.
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        // (tf.batchNorm without scale cannot be differentiated: tfjs-core 4.22 tries to save the
        // missing scale input for the backward pass.)
        h = tf.relu(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, BN_EPSILON))));
      } else if (layer.kind === 'pool') {
        h = tf.maxPool(h, 2, 2, 'valid');
      } else {
        h = tf.matMul(tf.reshape(h, [h.shape[0], -1]), layer.variable);
      }
    }
    return h;
  }

  function lossFn(x, y) {
    return tf.losses.softmaxCrossEntropy(y, logits(x));
  }

  function dispose() {
    for (const v of variables) v.dispose();
  }

  return { variables, blocks, lossFn, logits, numWeights, layout, dispose };
}
