import * as tf from '@tensorflow/tfjs-core';
import type { FeatureShape, GraphNode } from './graph';
import { initialValues, type ResolvedInit } from './init';
import { streamSeed } from './random';

export interface WeightOptions {
  /** Explicit initial values in tfjs layout; otherwise the builder's initialiser is used. */
  values?: Float32Array;
  /** Default true. Non-trainable weights (fixed skip matrices) are not in `trainableVariables`. */
  trainable?: boolean;
}

/**
 * Builds a model's graph in forward order and creates its variables (`${model}/${layer}/kernel`,
 * `${model}/${layer}/running_mean`, `${model}/${layer}/running_var`). Weight layer k draws its initial
 * values from the stream `streamSeed(seed, k)`.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  private readonly created: tf.Variable[] = [];
  private readonly byId = new Map<string, GraphNode>();
  private weightLayers = 0;

  constructor(
    readonly modelName: string,
    private readonly init: ResolvedInit,
    private readonly seed: number,
  ) {}

  shapeOf(id: string): FeatureShape {
    const node = this.byId.get(id);
    if (node == null) throw new Error(`internal: unknown node '${id}'`);
    return node.shape;
  }

  private push(node: GraphNode): string {
    if (this.byId.has(node.id)) throw new Error(`internal: duplicate layer name '${node.id}'`);
    this.nodes.push(node);
    this.byId.set(node.id, node);
    return node.id;
  }

  private variable(layer: string, suffix: string, values: Float32Array, shape: number[], trainable: boolean) {
    const v = tf.tidy(() =>
      tf.variable(tf.tensor(values, shape, 'float32'), trainable, `${this.modelName}/${layer}/${suffix}`),
    );
    this.created.push(v);
    return v;
  }

  private kernelValues(fanIn: number, nOut: number, options: WeightOptions): Float32Array {
    const stream = this.weightLayers++;
    if (options.values != null) {
      if (options.values.length !== fanIn * nOut) {
        throw new Error(`internal: ${options.values.length} values for a ${fanIn} x ${nOut} kernel`);
      }
      return options.values;
    }
    return initialValues(this.init, fanIn, nOut, streamSeed(this.seed, stream));
  }

  input(shape: FeatureShape): string {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 1)
        throw new RangeError(`inputShape must hold positive integers, got [${shape}]`);
    }
    return this.push({ op: 'input', id: 'input', inputs: [], shape: [...shape] });
  }

  zeroPad(from: string, id: string, padding: [[number, number], [number, number]]): string {
    const [h, w, c] = this.shapeOf(from);
    const shape = [h + padding[0][0] + padding[0][1], w + padding[1][0] + padding[1][1], c];
    return this.push({ op: 'zeroPad', id, inputs: [from], shape, padding });
  }

  conv(from: string, id: string, cOut: number, kernelSize = 3, options: WeightOptions = {}): string {
    const [h, w, cIn] = this.shapeOf(from);
    const shape = [kernelSize, kernelSize, cIn, cOut];
    const values = this.kernelValues(kernelSize * kernelSize * cIn, cOut, options);
    const kernel = this.variable(id, 'kernel', values, shape, options.trainable ?? true);
    return this.push({ op: 'conv2d', id, inputs: [from], shape: [h, w, cOut], kernel, kernelSize });
  }

  dense(from: string, id: string, nOut: number, options: WeightOptions = {}): string {
    const [nIn] = this.shapeOf(from);
    const values = this.kernelValues(nIn, nOut, options);
    const kernel = this.variable(id, 'kernel', values, [nIn, nOut], options.trainable ?? true);
    return this.push({ op: 'dense', id, inputs: [from], shape: [nOut], kernel });
  }

  batchNorm(from: string, id: string): string {
    const shape = this.shapeOf(from);
    const c = shape[shape.length - 1];
    const runningMean = this.variable(id, 'running_mean', new Float32Array(c), [c], false);
    const runningVar = this.variable(id, 'running_var', new Float32Array(c).fill(1), [c], false);
    return this.push({ op: 'batchNorm', id, inputs: [from], shape: [...shape], runningMean, runningVar });
  }

  relu(from: string, id: string): string {
    return this.push({ op: 'relu', id, inputs: [from], shape: [...this.shapeOf(from)] });
  }

  maxPool(from: string, id: string): string {
    const [h, w, c] = this.shapeOf(from);
    const shape = [Math.floor(h / 2), Math.floor(w / 2), c];
    if (shape[0] < 1 || shape[1] < 1) {
      throw new RangeError(
        `2x2 max-pool '${id}' gets a ${h}x${w} map: the input is too small for this depth`,
      );
    }
    return this.push({ op: 'maxPool', id, inputs: [from], shape });
  }

  flatten(from: string, id: string): string {
    const size = this.shapeOf(from).reduce((a, b) => a * b, 1);
    return this.push({ op: 'flatten', id, inputs: [from], shape: [size] });
  }

  globalAvgPool(from: string, id: string): string {
    const shape = this.shapeOf(from);
    return this.push({ op: 'globalAvgPool', id, inputs: [from], shape: [shape[shape.length - 1]] });
  }

  add(a: string, b: string, id: string): string {
    const sa = this.shapeOf(a);
    const sb = this.shapeOf(b);
    if (sa.join() !== sb.join()) throw new Error(`internal: add '${id}' of [${sa}] and [${sb}]`);
    return this.push({ op: 'add', id, inputs: [a, b], shape: [...sa] });
  }

  /** Disposes every variable created so far (construction failed). */
  abort(): void {
    for (const v of this.created) v.dispose();
    this.created.length = 0;
  }
}

/** Runs `build` with a fresh builder and disposes its variables if it throws. */
export function buildGraph<T>(builder: GraphBuilder, build: (b: GraphBuilder) => T): T {
  try {
    return build(builder);
  } catch (e) {
    builder.abort();
    throw e;
  }
}
