import { buildGraph } from './builder';
import { type CommonOptions, checkMomentum, commonConfig, newBuilder, positiveInt } from './common';
import { Network } from './network';

export type VggDepth = 11 | 13 | 16 | 19;

/** Channel configurations of Simonyan & Zisserman (2015), 'M' = 2x2 max-pool (ends a stage). */
export const VGG_CONFIGS: Readonly<Record<VggDepth, ReadonlyArray<number | 'M'>>> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/** The side length inputs are zero-padded to (CIFAR's 32; 28x28 Fashion-MNIST gets 2 pixels per side). */
export const VGG_MIN_INPUT_SIZE = 32;

/** Python's `round` (half to even), so widths match the PyTorch reference `max(1, int(round(v * width)))`. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The conv channel counts (and 'M' pools) of a paper VGG at the given width multiplier. */
export function vggChannels(depth: VggDepth, widthMultiplier = 1): Array<number | 'M'> {
  const cfg = VGG_CONFIGS[depth];
  if (cfg == null) throw new RangeError(`depth must be 11, 13, 16 or 19, got ${String(depth)}`);
  if (!Number.isFinite(widthMultiplier) || widthMultiplier <= 0) {
    throw new RangeError(`widthMultiplier must be > 0, got ${widthMultiplier}`);
  }
  return cfg.map((v) => (v === 'M' ? 'M' : Math.max(1, roundHalfEven(v * widthMultiplier))));
}

export interface PaperVggOptions extends CommonOptions {
  depth: VggDepth;
  numClasses: number;
  /** Multiplies every channel count: max(1, round(v * widthMultiplier)). Default 1. */
  widthMultiplier?: number;
  /** `[H, W, C]`, default `[32, 32, 3]`. Sides below 32 are zero-padded to 32 (centred). */
  inputShape?: [number, number, number];
}

/**
 * The paper's VGG (section 4.1): for each entry of the configuration a 3x3 convolution (stride 1,
 * 'same', no bias) -> batch normalisation without affine parameters -> ReLU, a 2x2 max-pool at the end of
 * every stage, then flatten and one bias-free linear classifier. Layers are named `conv{i}`, `bn{i}`,
 * `relu{i}` (i from 1), `pool{s}` (stage s from 1), `flatten`, `fc`; variables `${name}/conv{i}/kernel`,
 * `${name}/bn{i}/running_mean`, `${name}/bn{i}/running_var`, `${name}/fc/kernel`.
 */
export function paperVgg(options: PaperVggOptions): Network {
  const depth = options.depth;
  const width = options.widthMultiplier ?? 1;
  const channels = vggChannels(depth, width);
  const numClasses = positiveInt('numClasses', options.numClasses);
  const inputShape = options.inputShape ?? [32, 32, 3];
  if (!Array.isArray(inputShape) || inputShape.length !== 3) {
    throw new RangeError(`inputShape must be [height, width, channels], got ${JSON.stringify(inputShape)}`);
  }
  const momentum = checkMomentum(options.batchNormMomentum);
  const builder = newBuilder(options, `vgg${depth}`);
  return buildGraph(builder, (b) => {
    let x = b.input(inputShape);
    const [h, w] = inputShape;
    const padH = Math.max(0, VGG_MIN_INPUT_SIZE - h);
    const padW = Math.max(0, VGG_MIN_INPUT_SIZE - w);
    if (padH > 0 || padW > 0) {
      const top = Math.floor(padH / 2);
      const left = Math.floor(padW / 2);
      x = b.zeroPad(x, 'pad', [
        [top, padH - top],
        [left, padW - left],
      ]);
    }
    let conv = 0;
    let stage = 0;
    for (const v of channels) {
      if (v === 'M') {
        x = b.maxPool(x, `pool${++stage}`);
      } else {
        conv++;
        x = b.conv(x, `conv${conv}`, v);
        x = b.batchNorm(x, `bn${conv}`);
        x = b.relu(x, `relu${conv}`);
      }
    }
    x = b.flatten(x, 'flatten');
    const out = b.dense(x, 'fc', numClasses);
    return new Network({
      name: builder.modelName,
      architecture: 'paper-vgg',
      config: {
        depth,
        widthMultiplier: width,
        inputShape: [...inputShape],
        numClasses,
        ...commonConfig(options),
      },
      nodes: b.nodes,
      outputId: out,
      batchNormMomentum: momentum,
    });
  });
}
