/** Tiny DOM helper: el('td', { class: 'x' }, 'text', child). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: (Node | string | number | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, v);
  for (const c of children)
    if (c !== null && c !== undefined) e.append(typeof c === 'number' ? String(c) : c);
  return e;
}

/** A number for a table: 4 significant digits, exponent when tiny or huge. */
export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

export function hashQuery(): URLSearchParams {
  const h = location.hash.replace(/^#/, '');
  const q = h.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
}

export function hashPath(): string {
  const h = location.hash.replace(/^#/, '') || '/';
  const q = h.indexOf('?');
  return q < 0 ? h : h.slice(0, q);
}
