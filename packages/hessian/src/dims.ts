import type { Block } from './block';
import { validateBlock } from './validate';

export interface ScalarOptions {
  /**
   * Conv blocks only: multiply m_{b,W} by the number of output positions P_out, because the filter
   * gradient sums over positions (the conv column of the eq. (24) table in this package's README,
   * "What it computes"). Default true.
   */
  positionScaling?: boolean;
}

/** The shape-only quantities of a block that eq. (24) needs. */
export interface BlockDims {
  /** Rows of the paper's W: n_out for dense, C_out filters for conv. */
  rows: number;
  /** Number of weights. */
  count: number;
  /** m_{b,z}: depends on shapes only. */
  mZ: number;
  /** m_{b,W} = mWNumerator / ||W||_F^2. */
  mWNumerator: number;
}

/**
 * Shape-only part of eq. (24).
 * Dense (kernel [nIn, nOut]): m_{b,z} = nOut / nIn, m_{b,W} = nOut / ||W||_F^2 = 1 / ||W||^2_{2,mu}.
 * Conv (kernel [kh, kw, cIn, cOut], eq. 17/18 on the unrolled operator):
 *   m_{b,z} = (cOut * P_out) / (cIn * P_in), m_{b,W} = P * cOut / ||W||_F^2 with P = P_out when
 *   positionScaling, else 1.
 */
export function blockDims(block: Block, options: ScalarOptions = {}): BlockDims {
  validateBlock(block);
  const shape = block.weight.shape;
  const count = shape.reduce((a, b) => a * b, 1);
  if (block.kind === 'dense') {
    const [nIn, nOut] = shape;
    return { rows: nOut, count, mZ: nOut / nIn, mWNumerator: nOut };
  }
  const [, , cIn, cOut] = shape;
  const positions = (options.positionScaling ?? true) ? block.outputPositions : 1;
  return {
    rows: cOut,
    count,
    mZ: (cOut * block.outputPositions) / (cIn * block.inputPositions),
    mWNumerator: positions * cOut,
  };
}
