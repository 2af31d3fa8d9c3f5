import type { Block } from '@bmp/hessian';
import type { GraphBuilder } from './builder';
import { buildGraph } from './builder';
import { type CommonOptions, checkMomentum, commonConfig, newBuilder, positiveInt } from './common';
import { orthogonalKernel } from './init';
import { Network, type ResidualBlock, type SkipKind } from './network';
import { gaussianArray, streamSeed } from './random';

const SKIPS: readonly SkipKind[] = ['identity', 'orthogonal', 'non-orthogonal'];

/** Seed stream offset of the skip matrices, so that they do not shift the weight layers' streams. */
const SKIP_STREAM = 1_000_000;

export interface ResidualOptions extends CommonOptions {
  /** Number of residual blocks. */
  depth: number;
  /** Output classes (the dense classifier's width). */
  numClasses: number;
  /**
   * The skip matrix S in z_b = S z_{b-1} + phi_b(z_{b-1}): identity; a fixed random orthogonal matrix;
   * or a fixed non-orthogonal Gaussian matrix with entries N(0, skipStd^2).
   */
  skip: SkipKind;
  /** Std of the non-orthogonal skip's entries. Default 1 / sqrt(width) (so E||S z||^2 = ||z||^2). */
  skipStd?: number;
  /** Weight layers inside phi_b, each followed by [BN] and ReLU. Default 2. */
  layersPerBlock?: number;
  /** Batch normalisation without affine parameters after each weight layer. Default true. */
  batchNorm?: boolean;
}

function checkSkip(skip: unknown): SkipKind {
  if (!SKIPS.includes(skip as SkipKind)) {
    throw new TypeError(
      `skip must be 'identity', 'orthogonal' or 'non-orthogonal', got ${JSON.stringify(skip)}`,
    );
  }
  return skip as SkipKind;
}

/** The fixed skip kernel S^T (tfjs layout, `width x width` values) for a non-identity skip. */
function skipValues(skip: SkipKind, width: number, seed: number, block: number, std: number): Float32Array {
  const s = streamSeed(seed, SKIP_STREAM + block);
  if (skip === 'orthogonal') return orthogonalKernel(width, width, s, 1);
  const g = gaussianArray(width * width, s);
  return Float32Array.from(g, (v) => v * std);
}

interface ResidualLayout {
  builder: GraphBuilder;
  width: number;
  kind: 'dense' | 'conv';
}

/** Adds the residual blocks after `x`; returns the last node and the residual descriptors. */
function residualStages(
  { builder: b, width, kind }: ResidualLayout,
  x0: string,
  options: ResidualOptions,
): {
  x: string;
  residual: Array<{ name: string; skip: SkipKind; skipId: string | null; layerIds: string[] }>;
} {
  const depth = positiveInt('depth', options.depth);
  const perBlock = positiveInt('layersPerBlock', options.layersPerBlock ?? 2);
  const skip = checkSkip(options.skip);
  const batchNorm = options.batchNorm ?? true;
  const std = options.skipStd ?? 1 / Math.sqrt(width);
  if (!Number.isFinite(std) || std <= 0) throw new RangeError(`skipStd must be > 0, got ${std}`);
  const seed = options.seed ?? 0;
  const residual: Array<{ name: string; skip: SkipKind; skipId: string | null; layerIds: string[] }> = [];
  let x = x0;
  for (let r = 1; r <= depth; r++) {
    const name = `res${r}`;
    let h = x;
    const layerIds: string[] = [];
    for (let l = 1; l <= perBlock; l++) {
      const id = `${name}_${kind}${l}`;
      h = kind === 'dense' ? b.dense(h, id, width) : b.conv(h, id, width);
      layerIds.push(id);
      if (batchNorm) h = b.batchNorm(h, `${name}_bn${l}`);
      h = b.relu(h, `${name}_relu${l}`);
    }
    let skipId: string | null = null;
    let s = x;
    if (skip !== 'identity') {
      const values = skipValues(skip, width, seed, r, std);
      skipId = `${name}_skip`;
      s =
        kind === 'dense'
          ? b.dense(x, skipId, width, { values, trainable: false })
          : b.conv(x, skipId, width, 1, { values, trainable: false });
    }
    x = b.add(s, h, `${name}_add`);
    residual.push({ name, skip, skipId, layerIds });
  }
  return { x, residual };
}

function finish(
  b: GraphBuilder,
  architecture: string,
  config: Record<string, unknown>,
  out: string,
  residual: Array<{ name: string; skip: SkipKind; skipId: string | null; layerIds: string[] }>,
  momentum: number,
): Network {
  const provisional = new Network({
    name: b.modelName,
    architecture,
    config,
    nodes: b.nodes,
    outputId: out,
    batchNormMomentum: momentum,
  });
  const byName = new Map(provisional.blocks.map((blk) => [blk.weight.name, blk] as [string, Block]));
  const kernel = (id: string) => `${b.modelName}/${id}/kernel`;
  const skipVar = new Map(provisional.variables.map((v) => [v.name, v]));
  const residualBlocks: ResidualBlock[] = residual.map((r) => ({
    kind: 'residual',
    name: r.name,
    skip: r.skip,
    skipWeight: r.skipId == null ? null : skipVar.get(kernel(r.skipId))!,
    layers: r.layerIds.map((id) => byName.get(kernel(id))!),
  }));
  return new Network({
    name: b.modelName,
    architecture,
    config,
    nodes: b.nodes,
    outputId: out,
    residualBlocks,
    batchNormMomentum: momentum,
  });
}

export interface ResidualMlpOptions extends ResidualOptions {
  /** Input features. */
  inputSize: number;
  /** Width of the residual stream (and every hidden layer). */
  width: number;
}

/**
 * A residual MLP for the skip-connection analysis of section 3.2: `stem` dense nIn -> width -> [BN] ->
 * ReLU, then `depth` residual blocks z_b = S z_{b-1} + phi_b(z_{b-1}) with phi_b = (dense -> [BN] ->
 * ReLU) x layersPerBlock (no activation after the sum, as in Orhan & Pitkow 2018), then a dense
 * classifier `fc`. All dense layers are bias-free; S is fixed (not trainable).
 */
export function residualMlp(options: ResidualMlpOptions): Network {
  const inputSize = positiveInt('inputSize', options.inputSize);
  const width = positiveInt('width', options.width);
  const numClasses = positiveInt('numClasses', options.numClasses);
  const momentum = checkMomentum(options.batchNormMomentum);
  const batchNorm = options.batchNorm ?? true;
  const builder = newBuilder(options, 'resmlp');
  return buildGraph(builder, (b) => {
    let x = b.input([inputSize]);
    x = b.dense(x, 'stem', width);
    if (batchNorm) x = b.batchNorm(x, 'stem_bn');
    x = b.relu(x, 'stem_relu');
    const stages = residualStages({ builder: b, width, kind: 'dense' }, x, options);
    const out = b.dense(stages.x, 'fc', numClasses);
    const config = {
      inputSize,
      width,
      depth: options.depth,
      numClasses,
      skip: options.skip,
      skipStd: options.skipStd ?? 1 / Math.sqrt(width),
      layersPerBlock: options.layersPerBlock ?? 2,
      batchNorm,
      ...commonConfig(options),
    };
    return finish(b, 'residual-mlp', config, out, stages.residual, momentum);
  });
}

export interface ResidualConvNetOptions extends ResidualOptions {
  /** `[H, W, C]` (no padding, no pooling: every conv keeps H x W). Default `[32, 32, 3]`. */
  inputShape?: [number, number, number];
  /** Channels of the residual stream. Default 16. */
  channels?: number;
}

/**
 * A residual conv net for section 3.2: `stem` conv3x3 C_in -> channels -> [BN] -> ReLU, `depth` residual
 * blocks z_b = S z_{b-1} + phi_b(z_{b-1}) with phi_b = (conv3x3 -> [BN] -> ReLU) x layersPerBlock and S a
 * fixed 1x1 convolution (the same channel-mixing matrix at every position), then global average pooling
 * and a dense classifier `fc`. All convolutions are stride 1, 'same', bias-free.
 */
export function residualConvNet(options: ResidualConvNetOptions): Network {
  const inputShape = options.inputShape ?? [32, 32, 3];
  if (!Array.isArray(inputShape) || inputShape.length !== 3) {
    throw new RangeError(`inputShape must be [height, width, channels], got ${JSON.stringify(inputShape)}`);
  }
  const width = positiveInt('channels', options.channels ?? 16);
  const numClasses = positiveInt('numClasses', options.numClasses);
  const momentum = checkMomentum(options.batchNormMomentum);
  const batchNorm = options.batchNorm ?? true;
  const builder = newBuilder(options, 'resconv');
  return buildGraph(builder, (b) => {
    let x = b.input(inputShape);
    x = b.conv(x, 'stem', width);
    if (batchNorm) x = b.batchNorm(x, 'stem_bn');
    x = b.relu(x, 'stem_relu');
    const stages = residualStages({ builder: b, width, kind: 'conv' }, x, options);
    const pooled = b.globalAvgPool(stages.x, 'gap');
    const out = b.dense(pooled, 'fc', numClasses);
    const config = {
      inputShape: [...inputShape],
      channels: width,
      depth: options.depth,
      numClasses,
      skip: options.skip,
      skipStd: options.skipStd ?? 1 / Math.sqrt(width),
      layersPerBlock: options.layersPerBlock ?? 2,
      batchNorm,
      ...commonConfig(options),
    };
    return finish(b, 'residual-conv', config, out, stages.residual, momentum);
  });
}
