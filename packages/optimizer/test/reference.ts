/**
 * An independent float64 re-implementation of Algorithm 2 for the tests, written in the paper's
 * notation rather than the library's: W as n_out rows, ||W||^2_{2,mu} as the mean squared row norm,
 * m_{b,z} = ||W^T||^2_{2,mu} / ||W||^2_{2,mu} exactly as printed in eq. (24) (dense) and its conv form
 * (rows the C_out filters of length kh*kw*C_in, ||W||^2_{2,mu} = ||W||_F^2 / C_out,
 * m_{b,z} = (C_out * P_out) / (C_in * P_in), m_{b,W} = P_out / ||W||^2_{2,mu} with P_out the output
 * positions, or 1 / ||W||^2_{2,mu} without positionScaling; packages/hessian/README.md).
 * Nothing here imports the code under test.
 */

export interface RefBlock {
  /** Flat weights in tfjs layout. */
  w: Float64Array;
  /** Paper rows (dense n_out, conv C_out) and columns (dense n_in, conv kh*kw*C_in). */
  rows: number;
  cols: number;
  /** Dense: null; conv: { cIn, pIn, pOut } */
  conv: null | { cIn: number; cOut: number; pIn: number; pOut: number };
  v: Float64Array;
}

/** Element (row i, col j) of the paper's W for a tfjs-layout kernel: dense [nIn, nOut], conv [..., cIn, cOut]. */
function paperW(b: RefBlock, i: number, j: number): number {
  // both layouts store the output index fastest: flat = j * rows + i
  return b.w[j * b.rows + i];
}

export function rowMeanSq(b: RefBlock): number {
  let total = 0;
  for (let i = 0; i < b.rows; i++) {
    let row = 0;
    for (let j = 0; j < b.cols; j++) row += paperW(b, i, j) ** 2;
    total += row;
  }
  return total / b.rows;
}

function colMeanSq(b: RefBlock): number {
  let total = 0;
  for (let j = 0; j < b.cols; j++) {
    let col = 0;
    for (let i = 0; i < b.rows; i++) col += paperW(b, i, j) ** 2;
    total += col;
  }
  return total / b.cols;
}

export function refScalars(b: RefBlock, positionScaling = true): { mW: number; mZ: number } {
  const mu = rowMeanSq(b);
  if (b.conv == null) return { mW: 1 / mu, mZ: colMeanSq(b) / mu };
  const { cIn, cOut, pIn, pOut } = b.conv;
  return { mW: (positionScaling ? pOut : 1) / mu, mZ: (cOut * pOut) / (cIn * pIn) };
}

export interface RefOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  amend: boolean;
}

/** One step of Algorithm 2 (amend) or plain momentum SGD, PyTorch momentum convention. */
export function refStep(blocks: RefBlock[], grads: Float64Array[], o: RefOptions): void {
  const scalars = blocks.map((b) => refScalars(b)); // from the weights before the update
  let m = 1;
  for (let b = blocks.length - 1; b >= 0; b--) {
    const blk = blocks[b];
    const g = grads[b];
    const scale = o.amend ? 1 / (m * scalars[b].mW) : 1;
    for (let k = 0; k < blk.w.length; k++) {
      const gp = (g[k] + o.weightDecay * blk.w[k]) * scale;
      blk.v[k] = o.momentum * blk.v[k] + gp;
      const step = o.nesterov ? gp + o.momentum * blk.v[k] : blk.v[k];
      blk.w[k] -= o.lr * step;
    }
    m *= scalars[b].mZ;
  }
}
