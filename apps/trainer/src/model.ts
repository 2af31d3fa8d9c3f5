/** The model the training loop sees, built from settings or adapted from the user's own. */
import type { Block } from '@bmp/hessian';
import { decodeWeightsFile, encodeWeightsFile, mlp, type Network, paperVgg } from '@bmp/models';
import { blocksFromLayersModel } from '@bmp/optimizer';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainSettings } from './config';
import { tf } from './tf';

/**
 * A trainable model: an apply function returning logits, the block descriptors in forward order (for
 * ScaleAmendedSGD), the variables the optimizer trains, and every variable that is state (trainable
 * weights plus BN running statistics): those are checkpointed and hashed.
 */
export interface TrainableModel {
  name: string;
  apply(x: tf.Tensor, options: { training: boolean }): tf.Tensor;
  blocks: readonly Block[];
  trainableVariables: readonly tf.Variable[];
  /** Every stateful variable (defaults to trainableVariables). */
  variables?: readonly tf.Variable[];
  /** Optional: the model's own serialisation (used for checkpoints instead of the generic one). */
  serialize?(): Uint8Array;
  loadBytes?(bytes: Uint8Array, source?: string): void;
  dispose?(): void;
}

export function isLayersModel(m: unknown): m is tfl.LayersModel {
  return (
    m != null &&
    typeof m === 'object' &&
    'layers' in m &&
    typeof (m as tfl.LayersModel).predict === 'function'
  );
}

/** Wraps a `tf.LayersModel` (logits from the last layer; a final softmax is undone with a log). */
export function fromLayersModel(model: tfl.LayersModel): TrainableModel {
  const last = model.layers[model.layers.length - 1];
  const softmax = (last.getConfig() as { activation?: string }).activation === 'softmax';
  const vars = () => model.weights.map((w) => (w as unknown as { read(): tf.Variable }).read());
  return {
    name: model.name,
    apply(x, { training }) {
      const out = model.apply(x, { training }) as tf.Tensor;
      return softmax ? tf.log(tf.add(out, 1e-12)) : out;
    },
    blocks: blocksFromLayersModel(model as never),
    get trainableVariables() {
      return model.trainableWeights.map((w) => (w as unknown as { read(): tf.Variable }).read());
    },
    get variables() {
      return vars();
    },
  };
}

export function asTrainable(model: TrainableModel | tfl.LayersModel | Network): TrainableModel {
  if (isLayersModel(model)) return fromLayersModel(model);
  return model as TrainableModel;
}

export function stateVariables(model: TrainableModel): readonly tf.Variable[] {
  return model.variables ?? model.trainableVariables;
}

/** Builds the CLI's model. Same settings and seed give the same initial weights on any backend. */
export function buildModel(
  s: TrainSettings,
  inputShape: [number, number, number],
  numClasses: number,
): Network {
  const seed = s.seed;
  if (s.model === 'mlp') {
    const nIn = inputShape[0] * inputShape[1] * inputShape[2];
    const hidden = Array.from({ length: s.mlpLayers }, () => s.width);
    return mlp({
      sizes: [nIn, ...hidden, numClasses],
      batchNorm: true,
      inputShape,
      init: s.init,
      seed,
      name: uniqueName('mlp'),
    });
  }
  const depth = Number(s.model.slice(3)) as 11 | 13 | 16 | 19;
  return paperVgg({
    depth,
    numClasses,
    widthMultiplier: s.width,
    inputShape,
    init: s.init,
    seed,
    name: uniqueName(s.model),
  });
}

let counter = 0;
function uniqueName(base: string): string {
  // Variable names must be unique in the engine; compare() builds several models in one process.
  const names = new Set(Object.keys(tf.engine().registeredVariables));
  for (;;) {
    const name = counter === 0 ? base : `${base}_${counter}`;
    counter++;
    if (![...names].some((n) => n.startsWith(`${name}/`))) return name;
  }
}

/** A variable's name without the model's prefix (`vgg11/conv1/kernel` -> `conv1/kernel`). */
export function stripModelPrefix(name: string, prefix: string): string {
  return name.startsWith(`${prefix}/`) ? name.slice(prefix.length + 1) : name;
}

/** Relative variable name (without the model prefix) for stable keys across processes. */
function relativeNames(model: TrainableModel): Array<[string, tf.Variable]> {
  const vars = stateVariables(model);
  const prefix = `${model.name}/`;
  return vars.map((v) => [v.name.startsWith(prefix) ? v.name.slice(prefix.length) : v.name, v]);
}

/**
 * Downloads every state variable (asynchronously: webgpu in Node has no synchronous download). A backend
 * keeps what it downloaded, so synchronous reads of these tensors afterwards (a model's own serialize)
 * need no GPU round trip.
 */
async function downloadState(model: TrainableModel): Promise<void> {
  await Promise.all(stateVariables(model).map((v) => v.data()));
}

/** FNV-1a (32-bit, hex) over the names, shapes and float bytes of every state variable, in order. */
export async function weightsHash(model: TrainableModel): Promise<string> {
  await downloadState(model);
  let h = 0x811c9dc5;
  const mix = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i++) {
      h ^= bytes[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  };
  const enc = new TextEncoder();
  for (const [name, v] of relativeNames(model)) {
    mix(enc.encode(`${name}:${v.shape.join('x')};`));
    const data = v.dataSync();
    mix(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.toString(16).padStart(8, '0');
}

/** Model state as bytes: the model's own format when it has one, else safetensors of every variable. */
export async function serializeModel(model: TrainableModel): Promise<Uint8Array> {
  await downloadState(model);
  if (model.serialize) return model.serialize();
  return encodeWeightsFile(
    relativeNames(model).map(([name, v]) => ({
      name,
      shape: v.shape.slice(),
      values: v.dataSync() as Float32Array,
    })),
    { format: 'bmp-trainer-variables', version: '1' },
  );
}

export function loadModelBytes(model: TrainableModel, bytes: Uint8Array, source: string): void {
  if (model.loadBytes) {
    model.loadBytes(bytes, source);
    return;
  }
  const { tensors } = decodeWeightsFile(bytes, source);
  for (const [name, v] of relativeNames(model)) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${source}: no tensor '${name}'`);
    tf.tidy(() => v.assign(tf.tensor(t.values, t.shape, v.dtype)));
  }
}

/** Copies of every state variable (to start several runs from the same weights in one process). */
export function snapshot(model: TrainableModel): tf.Tensor[] {
  return stateVariables(model).map((v) => tf.clone(v));
}

export function restore(model: TrainableModel, saved: tf.Tensor[]): void {
  const vars = stateVariables(model);
  for (let i = 0; i < vars.length; i++) vars[i].assign(saved[i]);
}
