import type { Block } from '@bmp/hessian';
import type * as tf from '@tensorflow/tfjs-core';

/** The parts of a tfjs-layers layer that are read here (duck-typed: no dependency on tfjs-layers). */
interface LayerLike {
  name: string;
  getClassName(): string;
  kernel?: { read(): tf.Variable };
  strides?: number[];
  padding?: string;
  dataFormat?: string;
  input?: { shape: Array<number | null> } | Array<{ shape: Array<number | null> }>;
  outputShape?: Array<number | null> | Array<Array<number | null>>;
  layers?: LayerLike[];
}

interface ModelLike {
  layers: LayerLike[];
}

function positions(shape: Array<number | null>, dataFormat: string | undefined, what: string): number {
  const [h, w] = dataFormat === 'channelsFirst' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  if (h == null || w == null) {
    throw new Error(
      `${what} has an unknown spatial size [${shape}]: build the model with a fixed input shape`,
    );
  }
  return h * w;
}

function singleShape(x: LayerLike['input'] | LayerLike['outputShape'], what: string): Array<number | null> {
  if (x == null) throw new Error(`${what} is not built (no shape): call model.build or fit it first`);
  if (Array.isArray(x) && Array.isArray(x[0])) return x[0] as Array<number | null>;
  if (Array.isArray(x) && x.length > 0 && typeof x[0] === 'object' && x[0] !== null && 'shape' in x[0]) {
    return (x[0] as { shape: Array<number | null> }).shape;
  }
  if (!Array.isArray(x) && typeof x === 'object' && 'shape' in x) return x.shape;
  return x as Array<number | null>;
}

function collect(layers: LayerLike[], out: Block[]): void {
  for (const layer of layers) {
    if (Array.isArray(layer.layers)) {
      collect(layer.layers, out); // a nested model or Sequential used as a layer
      continue;
    }
    const kind = layer.getClassName();
    if (kind === 'Dense' && layer.kernel != null) {
      out.push({ weight: layer.kernel.read(), kind: 'dense' });
    } else if (kind === 'Conv2D' && layer.kernel != null) {
      const what = `layer '${layer.name}'`;
      const inputShape = singleShape(layer.input, `${what} input`);
      const outputShape = singleShape(layer.outputShape, `${what} output`);
      const [sh, sw] = layer.strides ?? [1, 1];
      out.push({
        weight: layer.kernel.read(),
        kind: 'conv2d',
        inputPositions: positions(inputShape, layer.dataFormat, `${what} input`),
        outputPositions: positions(outputShape, layer.dataFormat, `${what} output`),
        strides: [sh, sw],
        padding: layer.padding === 'same' ? 'same' : 'valid',
      });
    }
  }
}

/**
 * Block descriptors (forward order) for the Dense and Conv2D layers of a built `tf.LayersModel`, so that
 * `model.compile({ optimizer: new ScaleAmendedSGD({ ..., blocks: blocksFromLayersModel(model) }) })`
 * works. Layers are read duck-typed; other weight layers (biases, BatchNormalization, other conv
 * kinds) are left to plain momentum SGD. Assumes a feed-forward chain in `model.layers` order.
 */
export function blocksFromLayersModel(model: ModelLike): Block[] {
  if (model == null || !Array.isArray(model.layers)) {
    throw new TypeError('blocksFromLayersModel expects a tf.LayersModel (an object with a `layers` array)');
  }
  const blocks: Block[] = [];
  collect(model.layers, blocks);
  if (blocks.length === 0) {
    throw new Error('blocksFromLayersModel: the model has no Dense or Conv2D layer with a kernel');
  }
  return blocks;
}
