import { DEGENERATE_THRESHOLD, scalarsFromSquaredNorm } from '@bmp/hessian';
import * as tf from '@tensorflow/tfjs-core';
import type { BoundBlock } from './block-binding';
import { BlockwiseSGD } from './blockwise-sgd';
import type { SGDOptions } from './options';

/** What `lastScales()` reports for one block (forward order). */
export interface BlockScale {
  name: string;
  /** Backward factor on the block's output (Algorithm 2). */
  m: number;
  /** m_{b,W} from the weights before the last update (eq. 24). */
  mW: number;
  /** m_{b,z} (eq. 24). */
  mZ: number;
  /** ||W||_F^2 was numerically zero: mW fell back to 1. */
  degenerate: boolean;
  /** The block received no gradient in the last step and was not updated. */
  frozen: boolean;
}

/**
 * Scale-amended SGD (Zhang, Chen, Liu 2018, Algorithm 2 with the scalars of eq. 24).
 *
 * For b = B..1 with m = 1 at the output: g'_b = (g_b + weightDecay * W_b) / (m * m_{b,W}) and
 * m <- m * m_{b,z}; then v <- momentum * v + g', W <- W - lr * v. The scalars are recomputed from the
 * current weights at every step with one reduction per block and no download: m and m_{b,z} depend on
 * shapes only, m_{b,W} = (rows * positions) / ||W||_F^2. Variables that belong to no block (biases,
 * normalisation parameters) get plain momentum SGD with the same options.
 */
export class ScaleAmendedSGD extends BlockwiseSGD {
  static get className(): string {
    return 'ScaleAmendedSGD';
  }

  /** ||W_b||_F^2 of every block from the last step, stacked in forward order (one kept tensor). */
  private lastSquaredNorms: tf.Tensor1D | null = null;
  /**
   * ||W||_F^2 of each block's weight as the last step left it, keyed by block name with the dataId the
   * variable then held: the next step reuses it if the variable was not assigned since (tfjs gives a
   * variable a new dataId on every assign). Computing it from the new value, which the step holds anyway,
   * doubles as that variable's finiteness check and saves a pass over the weights.
   */
  private readonly normCache = new Map<string, { dataId: object; norm: tf.Scalar }>();
  private readonly pendingNorms = new Map<string, tf.Scalar>();

  constructor(options: SGDOptions) {
    super(options);
    if ((options.blocks ?? []).length === 0) {
      throw new Error(
        'ScaleAmendedSGD needs `blocks`: the weight blocks in forward order (see blocksFromLayersModel)',
      );
    }
  }

  protected blockScales(blocks: readonly BoundBlock[]): Map<string, tf.Scalar> {
    const scales = new Map<string, tf.Scalar>();
    const norms = blocks.map(({ name, block, dims, m }) => {
      const cached = this.normCache.get(name);
      const squaredNorm =
        cached != null && cached.dataId === block.weight.dataId
          ? cached.norm
          : tf.sum(tf.square(block.weight));
      // 1 / (m * mW) = ||W||_F^2 / (m * numerator); a zero kernel falls back to mW = 1.
      const scale = tf.where(
        tf.less(squaredNorm, DEGENERATE_THRESHOLD * dims.count),
        tf.scalar(1 / m),
        tf.mul(squaredNorm, tf.scalar(1 / (m * dims.mWNumerator))),
      ) as tf.Scalar;
      scales.set(name, scale);
      return squaredNorm;
    });
    this.lastSquaredNorms?.dispose();
    this.lastSquaredNorms = tf.keep(tf.stack(norms) as tf.Tensor1D);
    return scales;
  }

  protected override updateProbe(name: string, newValue: tf.Tensor): tf.Scalar | null {
    if (!this.blocks.some((b) => b.name === name)) return null; // not a block: the gradient's sum checks it
    const norm = tf.sum(tf.square(newValue)) as tf.Scalar;
    this.pendingNorms.set(name, tf.keep(norm.clone()));
    return norm;
  }

  protected override endStep(committed: boolean): void {
    for (const [name, norm] of this.pendingNorms) {
      if (!committed) {
        norm.dispose();
        continue;
      }
      const weight = (this.blocks.find((b) => b.name === name) as BoundBlock).block.weight;
      this.normCache.get(name)?.norm.dispose();
      this.normCache.set(name, { dataId: weight.dataId, norm });
    }
    this.pendingNorms.clear();
  }

  /**
   * Per block, in forward order, the scalars used by the last step: `{ name, m, mW, mZ, degenerate,
   * frozen }`. Empty before the first step. Downloads one small tensor.
   */
  lastScales(): BlockScale[] {
    if (this.lastSquaredNorms == null) return [];
    return this.scalesFrom(this.lastSquaredNorms.dataSync());
  }

  /** `lastScales()` with an asynchronous download (GPU backends; webgpu in Node has no synchronous one). */
  async readLastScales(): Promise<BlockScale[]> {
    if (this.lastSquaredNorms == null) return [];
    return this.scalesFrom(await this.lastSquaredNorms.data());
  }

  private scalesFrom(norms: ArrayLike<number>): BlockScale[] {
    return this.blocks.map(({ name, dims, m }, i) => {
      const { mW, mZ, degenerate } = scalarsFromSquaredNorm(dims, norms[i]);
      return { name, m, mW, mZ, degenerate, frozen: this.frozenLastStep.has(name) };
    });
  }

  override dispose(): void {
    this.lastSquaredNorms?.dispose();
    this.lastSquaredNorms = null;
    for (const { norm } of this.normCache.values()) norm.dispose();
    this.normCache.clear();
    super.dispose();
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config as unknown as SGDOptions);
  }
}
