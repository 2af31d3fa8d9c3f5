/** Tableau 10 (TensorBoard-like), then a golden-angle hue walk for runs beyond ten. */
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export function colorAt(index: number): string {
  if (index < PALETTE.length) return PALETTE[index];
  return `hsl(${Math.round((index * 137.508) % 360)}, 65%, 45%)`;
}

/**
 * Colours fixed per run: a run keeps the colour of its index among all runs of the source (sorted by
 * name), whatever subset is shown, so that a run has the same colour on every page.
 */
export class RunColors {
  private readonly byName = new Map<string, string>();
  constructor(names: readonly string[]) {
    [...names].sort().forEach((n, i) => {
      this.byName.set(n, colorAt(i));
    });
  }
  get(name: string): string {
    return this.byName.get(name) ?? colorAt(this.byName.size);
  }

  /**
   * The colours for a listing that changed while it was followed live: runs seen before keep theirs,
   * new runs take the next free colours (sorted by name), so nothing changes colour under the user.
   */
  withRuns(names: readonly string[]): RunColors {
    const next = new RunColors([]);
    for (const [n, c] of this.byName) next.byName.set(n, c);
    let index = this.byName.size;
    for (const n of [...names].sort()) if (!next.byName.has(n)) next.byName.set(n, colorAt(index++));
    return next;
  }
}

/** `#rrggbb` or `hsl(...)` with an alpha, for bands. */
export function withAlpha(color: string, alpha: number): string {
  if (color.startsWith('#') && color.length === 7) {
    const a = Math.round(alpha * 255)
      .toString(16)
      .padStart(2, '0');
    return `${color}${a}`;
  }
  return color.replace(/^hsl\((.*)\)$/, `hsla($1, ${alpha})`);
}
