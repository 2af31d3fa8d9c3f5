import type { Block, BlockKind, Padding, Strides } from '@bmp/hessian';

/**
 * A block given by its weight variable's name instead of the variable itself; it is bound to the
 * registered variable of that name at the first step. This is how blocks are serialised.
 */
export interface NamedBlock {
  name: string;
  kind: BlockKind;
  inputPositions?: number;
  outputPositions?: number;
  strides?: Strides;
  padding?: Padding;
}

export interface SGDOptions {
  learningRate: number;
  /** Heavy-ball momentum (PyTorch convention: v <- momentum * v + g, W <- W - lr * v). Default 0. */
  momentum?: number;
  /** L2 penalty added to the gradient (g + weightDecay * W) before anything else. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum, PyTorch form: W <- W - lr * (g + momentum * v). Default false. */
  nesterov?: boolean;
  /** Weight blocks in forward order (the network's input side first). */
  blocks?: ReadonlyArray<Block | NamedBlock>;
  /** Conv blocks: multiply m_{b,W} by the output positions (see @bmp/hessian). Default true. */
  positionScaling?: boolean;
  /**
   * Check every gradient for NaN/Infinity before any weight changes (one fused reduction and one
   * download per step). Default true.
   */
  checkFinite?: boolean;
  /** Where one-off notices go (a block that received no gradient). Default console.warn. */
  onWarning?: (message: string) => void;
}

export interface ResolvedOptions {
  learningRate: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  positionScaling: boolean;
  checkFinite: boolean;
}

function finiteAtLeast(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${name} must be a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}

export function checkLearningRate(value: unknown): number {
  return finiteAtLeast('learningRate', value, 0);
}

export function resolveOptions(options: SGDOptions): ResolvedOptions {
  if (options == null || typeof options !== 'object') {
    throw new TypeError('optimizer options must be an object such as { learningRate: 0.1 }');
  }
  const momentum = finiteAtLeast('momentum', options.momentum ?? 0, 0);
  const nesterov = options.nesterov ?? false;
  if (nesterov && momentum <= 0) {
    throw new RangeError('nesterov requires momentum > 0 (as in PyTorch)');
  }
  return {
    learningRate: checkLearningRate(options.learningRate),
    momentum,
    weightDecay: finiteAtLeast('weightDecay', options.weightDecay ?? 0, 0),
    nesterov,
    positionScaling: options.positionScaling ?? true,
    checkFinite: options.checkFinite ?? true,
  };
}
