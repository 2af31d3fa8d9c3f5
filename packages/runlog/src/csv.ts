import type { SeriesPoint } from './smoothing';

export type CsvCell = string | number | boolean | null | undefined;

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Non-finite numbers and null are empty. */
export function csvField(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && !Number.isFinite(value)) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document: header row, then rows, CRLF-free (`\n` line ends), ending with a newline. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

export interface NamedSeries {
  name: string;
  points: readonly SeriesPoint[];
}

/**
 * Several series as one wide CSV: an x column (`xLabel`), then one column per series, one row per
 * distinct x (ascending); a series with no point at an x leaves its cell empty. What the viewer's
 * "export CSV" writes for the curves on screen.
 */
export function seriesToCsv(series: readonly NamedSeries[], xLabel = 'x'): string {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const lookup = series.map((s) => {
    const m = new Map<number, number>();
    for (const p of s.points) m.set(p.x, p.y);
    return m;
  });
  return toCsv(
    [xLabel, ...series.map((s) => s.name)],
    xs.map((x) => [x, ...lookup.map((m) => m.get(x))]),
  );
}

/**
 * Records (e.g. epoch records) as CSV: the given columns, or every top-level key of any record in
 * first-seen order. Nested values (scales) are written as JSON.
 */
export function recordsToCsv(records: readonly object[], columns?: readonly string[]): string {
  const cols = columns ?? [...new Set(records.flatMap((r) => Object.keys(r)))];
  return toCsv(
    cols,
    records.map((r) =>
      cols.map((c) => {
        const v = (r as Record<string, unknown>)[c];
        return v !== null && typeof v === 'object' ? JSON.stringify(v) : (v as CsvCell);
      }),
    ),
  );
}
