/**
 * TensorBoard's scalar smoothing: an exponential moving average debiased like Adam's moments
 * (tensorboard/webapp/widgets/line_chart_v2/lib/data_transformer.ts, `classicSmoothing`):
 *
 *   last_k = w * last_{k-1} + (1 - w) * y_k,  last_0 = 0
 *   smoothed_k = last_k / (1 - w^k)           (k counts finite values only)
 *
 * Non-finite values pass through unchanged and do not advance k; a constant series is returned as is.
 * `weight` is the slider value in [0, 1); 0 means no smoothing.
 */
export function smoothEma(values: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1))
    throw new RangeError(`smoothEma: weight must be in [0, 1), got ${weight}`);
  const isConstant = values.every((v) => v === values[0]);
  let last = 0;
  let k = 0;
  return values.map((y) => {
    if (isConstant || !Number.isFinite(y)) return y;
    last = last * weight + (1 - weight) * y;
    k++;
    return last / (1 - weight ** k);
  });
}

export interface SeriesPoint {
  x: number;
  y: number;
}

/** `smoothEma` applied to the y values of a series (x unchanged). */
export function smoothSeries(points: readonly SeriesPoint[], weight: number): SeriesPoint[] {
  const ys = smoothEma(
    points.map((p) => p.y),
    weight,
  );
  return points.map((p, i) => ({ x: p.x, y: ys[i] }));
}
