import { randomArray, tf } from '@bmp/test-utils';

export type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

export interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

/** Output size of a conv (tfjs' own computation), or 0 when the configuration is empty. */
export function outShape(c: ConvCase): number[] {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad as never, undefined, false);
  return info.outShape;
}

/** Runs the kernels as conv2d's gradient does (tfjs-core does not export the backprop ops). */
export function filterGrad(x: tf.Tensor, dy: tf.Tensor, c: ConvCase): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: c.strides,
    pad: c.pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape: c.f,
  } as never) as tf.Tensor;
}

export function inputGrad(dy: tf.Tensor, filter: tf.Tensor, c: ConvCase): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
    strides: c.strides,
    pad: c.pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    inputShape: c.x,
  } as never) as tf.Tensor;
}

/** max |a - b| / max |b|: the error relative to the reference's scale (elementwise ratios blow up near 0). */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

export interface CaseData {
  x: Float32Array;
  f: Float32Array;
  dy: Float32Array;
  dyShape: number[];
}

export function caseData(c: ConvCase, seed: number): CaseData {
  const dyShape = outShape(c);
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return {
    x: randomArray(size(c.x), seed),
    f: randomArray(size(c.f), seed + 1),
    dy: randomArray(size(dyShape), seed + 2),
    dyShape,
  };
}

/** Random conv configurations (seeded): kernel 1-5 (not always square), strides 1-3, every padding kind. */
export function randomCases(n: number, seed: number): ConvCase[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cases: ConvCase[] = [];
  while (cases.length < n) {
    const kh = int(1, 5);
    const kw = rand() < 0.7 ? kh : int(1, 5);
    const kind = cases.length % 4;
    let pad: Pad;
    if (kind === 0) pad = 'same';
    else if (kind === 1) pad = 'valid';
    else if (kind === 2) pad = int(0, 2);
    else
      pad = [
        [0, 0],
        [int(0, 2), int(0, 2)],
        [int(0, 2), int(0, 2)],
        [0, 0],
      ];
    const c: ConvCase = {
      x: [int(1, 3), int(4, 13), int(4, 13), int(1, 6)],
      f: [kh, kw, 0, int(1, 7)],
      strides: rand() < 0.4 ? [1, 1] : [int(1, 3), int(1, 3)],
      pad,
    };
    c.f[2] = c.x[3];
    const out = outShape(c);
    if (out[1] >= 1 && out[2] >= 1) cases.push(c);
  }
  return cases;
}

export const label = (c: ConvCase) =>
  `x [${c.x}] f [${c.f}] strides [${c.strides}] pad ${JSON.stringify(c.pad)}`;
