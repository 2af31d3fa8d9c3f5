import type { Block } from '@bmp/hessian';
import * as tf from '@tensorflow/tfjs-core';
import { batchNormReluTraining, batchNormTraining } from './batch-norm';
import { ensureDirectory, joinPath, readFileBytes, writeFileAtomic } from './files';
import type { FeatureShape, GraphNode } from './graph';
import { KERAS_VERSION, kerasTopology, nodeWeights } from './layers-export';
import { decodeWeightsFile, encodeWeightsFile, WeightsFileError } from './weights-file';

/** PyTorch's BatchNorm defaults: running = (1 - 0.1) * running + 0.1 * batch, eps = 1e-5. */
export const BATCH_NORM_MOMENTUM = 0.1;
export const BATCH_NORM_EPSILON = 1e-5;

export type SkipKind = 'identity' | 'orthogonal' | 'non-orthogonal';

/**
 * A residual block z_b = S z_{b-1} + phi_b(W_b, z_{b-1}) (paper eq. 12, with the skip matrix S of
 * Orhan & Pitkow 2018). Not a `@bmp/hessian` Block: its weight layers are listed in `layers` (and in the
 * model's `blocks`).
 */
export interface ResidualBlock {
  kind: 'residual';
  /** Layer-name prefix of the block (`res2`). */
  name: string;
  skip: SkipKind;
  /**
   * The fixed (non-trainable) skip matrix S: dense `[width, width]` or 1x1 conv `[1, 1, C, C]` kernel in
   * tfjs layout (S^T); null for the identity.
   */
  skipWeight: tf.Variable | null;
  /** The weight layers of phi_b in forward order. */
  layers: Block[];
}

export interface ApplyOptions {
  /**
   * Training mode: batch normalisation uses the batch's statistics (and needs more than one value per
   * channel). Evaluation mode (default) uses the running statistics.
   */
  training?: boolean;
  /**
   * In training mode, update the running statistics from this batch (default: true when training).
   * Pass false for extra forward passes that must not count as a step (Hessian probes, line searches).
   */
  updateStatistics?: boolean;
}

export interface NetworkSpec {
  name: string;
  architecture: string;
  /** JSON-serialisable options the model was built with (written into saved files). */
  config: Record<string, unknown>;
  nodes: GraphNode[];
  outputId: string;
  residualBlocks?: ResidualBlock[];
  batchNormMomentum?: number;
}

/**
 * A model built from tfjs-core ops and variables only. Created by `paperVgg`, `mlp`, `residualMlp` and
 * `residualConvNet`.
 */
export class Network {
  readonly name: string;
  readonly architecture: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Input feature shape, without the batch dimension. */
  readonly inputShape: readonly number[];
  /** Output shape (logits), without the batch dimension. */
  readonly outputShape: readonly number[];
  /** Weight blocks (`@bmp/hessian` descriptors) of the trainable weight layers, in forward order. */
  readonly blocks: readonly Block[];
  /** Residual structure (residual nets only; empty otherwise). */
  readonly residualBlocks: readonly ResidualBlock[];
  readonly trainableVariables: readonly tf.Variable[];
  /** Every variable: kernels, fixed skip matrices and BN running statistics. */
  readonly variables: readonly tf.Variable[];
  /** Number of trainable weights (BN running statistics are buffers, not parameters, as in PyTorch). */
  readonly parameterCount: number;
  /** PyTorch convention: running = (1 - m) * running + m * batch. */
  readonly batchNormMomentum: number;
  readonly batchNormEpsilon = BATCH_NORM_EPSILON;

  private readonly nodes: readonly GraphNode[];
  private readonly outputId: string;
  /** BN node id -> the ReLU node that is its only reader (computed with it in training mode). */
  private readonly reluAfterBatchNorm = new Map<string, string>();
  private disposed = false;

  constructor(spec: NetworkSpec) {
    this.name = spec.name;
    this.architecture = spec.architecture;
    this.config = spec.config;
    this.nodes = spec.nodes;
    this.outputId = spec.outputId;
    for (const node of this.nodes) {
      if (node.op !== 'batchNorm') continue;
      const readers = this.nodes.filter((n) => n.inputs.includes(node.id));
      if (readers.length === 1 && readers[0]!.op === 'relu')
        this.reluAfterBatchNorm.set(node.id, readers[0]!.id);
    }
    this.inputShape = spec.nodes[0].shape;
    this.outputShape = spec.nodes.find((n) => n.id === spec.outputId)!.shape;
    this.residualBlocks = spec.residualBlocks ?? [];
    this.batchNormMomentum = spec.batchNormMomentum ?? BATCH_NORM_MOMENTUM;
    const blocks: Block[] = [];
    const variables: tf.Variable[] = [];
    for (const node of this.nodes) {
      for (const { variable } of nodeWeights(node)) variables.push(variable);
      if (node.op === 'conv2d' && node.kernel.trainable) {
        const input = this.nodes.find((n) => n.id === node.inputs[0])!;
        blocks.push({
          weight: node.kernel,
          kind: 'conv2d',
          inputPositions: input.shape[0] * input.shape[1],
          outputPositions: node.shape[0] * node.shape[1],
          strides: 1,
          padding: 'same',
        });
      } else if (node.op === 'dense' && node.kernel.trainable) {
        blocks.push({ weight: node.kernel, kind: 'dense' });
      }
    }
    this.blocks = blocks;
    this.variables = variables;
    this.trainableVariables = variables.filter((v) => v.trainable);
    this.parameterCount = this.trainableVariables.reduce((s, v) => s + v.size, 0);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error(`model '${this.name}' has been disposed`);
  }

  /** Variables by their name relative to the model (`conv3/kernel`, `bn3/running_mean`). */
  namedVariables(): Map<string, tf.Variable> {
    const prefix = `${this.name}/`;
    return new Map(this.variables.map((v) => [v.name.slice(prefix.length), v]));
  }

  /** The layer names of the graph in forward order, with their ops and output shapes. */
  describe(): Array<{ name: string; op: GraphNode['op']; inputs: string[]; shape: FeatureShape }> {
    return this.nodes.map((n) => ({ name: n.id, op: n.op, inputs: [...n.inputs], shape: [...n.shape] }));
  }

  /**
   * Logits for a batch `x` of shape `[batch, ...inputShape]`. See `ApplyOptions` for training mode; the
   * running statistics are updated with `Variable.assign` after the forward pass, off the gradient path,
   * so `tf.variableGrads(() => loss)` and `optimizer.minimize(() => loss)` work unchanged.
   */
  apply(x: tf.Tensor, options: ApplyOptions = {}): tf.Tensor2D {
    return this.run(x, options, [this.outputId])[this.outputId] as tf.Tensor2D;
  }

  /**
   * Intermediate outputs by layer name (see `describe()`): e.g. `activations(x, ['conv1', 'bn1'])` gives
   * the first convolution's output and its normalisation. Same modes and side effects as `apply`.
   */
  activations(
    x: tf.Tensor,
    layers: readonly string[],
    options: ApplyOptions = {},
  ): Record<string, tf.Tensor> {
    const known = new Set(this.nodes.map((n) => n.id));
    for (const l of layers) {
      if (!known.has(l)) throw new Error(`model '${this.name}' has no layer '${l}' (see describe())`);
    }
    return this.run(x, options, layers);
  }

  private run(x: tf.Tensor, options: ApplyOptions, wanted: readonly string[]): Record<string, tf.Tensor> {
    this.assertAlive();
    const training = options.training ?? false;
    const update = training && (options.updateStatistics ?? true);
    const expected = [...this.inputShape];
    if (x.rank !== expected.length + 1 || x.shape.slice(1).some((d, i) => d !== expected[i])) {
      throw new Error(
        `model '${this.name}' expects input [batch, ${expected.join(', ')}], got [${x.shape.join(', ')}]`,
      );
    }
    // Training mode: a BN node whose only reader is a ReLU (and whose own output is not asked for) runs
    // with it as one op (one kernel where the backend has it); the ReLU node then takes the result.
    return tf.tidy(() => {
      const values = new Map<string, tf.Tensor>();
      const ahead = new Map<string, tf.Tensor>(); // ReLU outputs computed with their BN
      const pending: Array<{
        node: GraphNode & { op: 'batchNorm' };
        mean: tf.Tensor;
        variance: tf.Tensor;
        n: number;
      }> = [];
      for (const node of this.nodes) {
        const inputs = node.inputs.map((id) => values.get(id)!);
        const h = inputs[0];
        let out: tf.Tensor;
        switch (node.op) {
          case 'input':
            out = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
            break;
          case 'zeroPad':
            out = tf.pad(h, [[0, 0], node.padding[0], node.padding[1], [0, 0]]);
            break;
          case 'conv2d':
            out = tf.conv2d(h as tf.Tensor4D, node.kernel as tf.Tensor4D, 1, 'same');
            break;
          case 'dense':
            out = tf.matMul(h as tf.Tensor2D, node.kernel as tf.Tensor2D);
            break;
          case 'batchNorm': {
            if (training) {
              const n = h.size / h.shape[h.rank - 1];
              if (n < 2) {
                throw new Error(
                  `${this.name}/${node.id}: batch normalisation in training mode needs more than 1 value per channel, got input shape [${h.shape}]`,
                );
              }
              const relu = wanted.includes(node.id) ? undefined : this.reluAfterBatchNorm.get(node.id);
              if (relu != null) {
                const fused = batchNormReluTraining(h, this.batchNormEpsilon);
                ahead.set(relu, fused.out);
                out = fused.out; // nothing else reads this node (see reluAfterBatchNorm)
                if (update) pending.push({ node, mean: fused.mean, variance: fused.variance, n });
              } else {
                const normalised = batchNormTraining(h, this.batchNormEpsilon);
                out = normalised.out;
                if (update) pending.push({ node, mean: normalised.mean, variance: normalised.variance, n });
              }
            } else {
              out = tf.mul(
                tf.sub(h, node.runningMean),
                tf.rsqrt(tf.add(node.runningVar, this.batchNormEpsilon)),
              );
            }
            break;
          }
          case 'relu':
            out = ahead.get(node.id) ?? tf.relu(h);
            break;
          case 'maxPool':
            out = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
            break;
          case 'flatten':
            out = tf.reshape(h, [h.shape[0], -1]);
            break;
          case 'globalAvgPool':
            out = tf.mean(h, [1, 2]);
            break;
          case 'add':
            out = tf.add(h, inputs[1]);
            break;
        }
        values.set(node.id, out);
      }
      // Running statistics (PyTorch): running = (1 - m) running + m batch, the variance unbiased.
      const m = this.batchNormMomentum;
      for (const { node, mean, variance, n } of pending) {
        node.runningMean.assign(tf.add(tf.mul(node.runningMean, 1 - m), tf.mul(mean, m)));
        node.runningVar.assign(tf.add(tf.mul(node.runningVar, 1 - m), tf.mul(variance, (m * n) / (n - 1))));
      }
      const result: Record<string, tf.Tensor> = {};
      for (const id of wanted) result[id] = values.get(id)!;
      return result;
    });
  }

  /** Weights and BN running statistics in the `@bmp/models` weights format (see README). */
  serialize(): Uint8Array {
    this.assertAlive();
    const tensors = [...this.namedVariables()].map(([name, v]) => ({
      name,
      shape: [...v.shape],
      values: v.dataSync() as Float32Array,
    }));
    return encodeWeightsFile(tensors, {
      model: this.name,
      architecture: JSON.stringify({ architecture: this.architecture, ...this.config }),
    });
  }

  /**
   * Loads weights and running statistics from `serialize()`'s bytes. Everything is checked (format,
   * checksum, every tensor's presence, dtype and shape, no extra tensors) before any variable changes.
   */
  loadBytes(bytes: Uint8Array, source = 'weights file'): void {
    this.assertAlive();
    const { tensors } = decodeWeightsFile(bytes, source);
    const vars = this.namedVariables();
    const problems: string[] = [];
    for (const [name, v] of vars) {
      const t = tensors.get(name);
      if (t == null) problems.push(`missing tensor '${name}' (model expects shape [${v.shape}])`);
      else if (t.shape.join() !== v.shape.join()) {
        problems.push(`tensor '${name}' has shape [${t.shape}] in the file, model expects [${v.shape}]`);
      }
    }
    for (const name of tensors.keys()) {
      if (!vars.has(name))
        problems.push(`unexpected tensor '${name}' (not a variable of model '${this.name}')`);
    }
    if (problems.length > 0) {
      throw new WeightsFileError(
        `${source} does not match model '${this.name}' (${this.architecture}): ${problems.slice(0, 5).join('; ')}` +
          (problems.length > 5 ? `; and ${problems.length - 5} more` : ''),
      );
    }
    tf.tidy(() => {
      for (const [name, v] of vars) {
        const t = tensors.get(name)!;
        v.assign(tf.tensor(t.values, t.shape, 'float32'));
      }
    });
  }

  /** Saves weights and running statistics to `file` (Node), atomically (temporary file, then rename). */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, this.serialize());
  }

  /** Loads a file written by `save` (Node); see `loadBytes` for the checks. */
  async load(file: string): Promise<void> {
    this.loadBytes(await readFileBytes(file), file);
  }

  /**
   * The equivalent tfjs-layers model (`tf.io.ModelArtifacts`: Keras functional topology, weight specs,
   * float32 weight data with the BN running statistics as moving mean/variance). Load it with
   * `tf.loadLayersModel(tf.io.fromMemory(artifacts))`; its `predict` matches `apply(x, { training: false })`.
   */
  toLayersModelArtifacts(): tf.io.ModelArtifacts {
    this.assertAlive();
    const weights = this.nodes.flatMap((n) => nodeWeights(n));
    const weightSpecs: tf.io.WeightsManifestEntry[] = weights.map((w) => ({
      name: w.name,
      shape: [...w.variable.shape],
      dtype: 'float32',
    }));
    const total = weights.reduce((s, w) => s + w.variable.size, 0);
    const data = new Float32Array(total);
    let offset = 0;
    for (const w of weights) {
      data.set(w.variable.dataSync() as Float32Array, offset);
      offset += w.variable.size;
    }
    return {
      modelTopology: kerasTopology(
        this.name,
        this.nodes,
        this.outputId,
        this.batchNormMomentum,
        this.batchNormEpsilon,
      ),
      format: 'layers-model',
      generatedBy: KERAS_VERSION,
      convertedBy: '@bmp/models',
      weightSpecs,
      weightData: data.buffer,
    };
  }

  /**
   * Exports to the tfjs layers-model format. A plain path is a directory (Node): `model.json` and
   * `weights.bin` are written there atomically. A URL (`indexeddb://...`, `downloads://...`, `file://...`
   * with tfjs-node) or an `IOHandler` is passed to tfjs' own save handlers.
   */
  async exportLayersModel(destination: string | tf.io.IOHandler): Promise<tf.io.SaveResult> {
    const artifacts = this.toLayersModelArtifacts();
    if (typeof destination !== 'string' || /^[a-z][a-z0-9+.-]*:\/\//i.test(destination)) {
      let handler: tf.io.IOHandler;
      if (typeof destination === 'string') {
        const handlers = tf.io.getSaveHandlers(destination);
        if (handlers.length === 0) throw new Error(`no tfjs save handler for '${destination}'`);
        handler = handlers[0];
      } else {
        handler = destination;
      }
      if (handler.save == null) throw new Error('the IOHandler cannot save');
      return handler.save(artifacts);
    }
    await ensureDirectory(destination);
    const modelJson = {
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    };
    const weightData = new Uint8Array(artifacts.weightData as ArrayBuffer);
    await writeFileAtomic(await joinPath(destination, 'weights.bin'), weightData);
    await writeFileAtomic(await joinPath(destination, 'model.json'), JSON.stringify(modelJson));
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        weightDataBytes: weightData.byteLength,
      },
    };
  }

  /** Disposes every variable of the model; the model name becomes free again. */
  dispose(): void {
    if (this.disposed) return;
    for (const v of this.variables) v.dispose();
    this.disposed = true;
  }
}
