// Small statistics and formatting helpers for the benchmarks.

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Linear-interpolated quantile, q in [0, 1]. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Summary of a list of times in ms: median, min, max, interquartile range, n. */
export function summarize(times) {
  return {
    medianMs: round(median(times)),
    minMs: round(Math.min(...times)),
    maxMs: round(Math.max(...times)),
    q1Ms: round(quantile(times, 0.25)),
    q3Ms: round(quantile(times, 0.75)),
    n: times.length,
    timesMs: times.map((t) => round(t)),
  };
}

export function round(x, digits = 3) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Fixed-width text table: columns [{ key, label, align? }], rows of plain objects. */
export function formatTable(columns, rows) {
  const cells = rows.map((r) => columns.map((c) => String(r[c.key] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.label.length, ...cells.map((row) => row[i].length)));
  const pad = (s, i) => (columns[i].align === 'left' ? s.padEnd(widths[i]) : s.padStart(widths[i]));
  const line = (row) => row.map(pad).join('  ');
  return [
    line(columns.map((c) => c.label)),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(line),
  ].join('\n');
}
