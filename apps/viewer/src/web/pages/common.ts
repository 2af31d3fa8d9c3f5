import { el } from '../dom';
import { runProblems } from '../source';
import { state } from '../state';

/** The empty state: why there is nothing to show and what to do, never a blank page. */
export function emptyState(): HTMLElement | null {
  if (state.error)
    return el('div', { class: 'empty', 'data-testid': 'empty-state' }, el('p', {}, state.error));
  const l = state.listing;
  if (!l) return el('div', { class: 'empty' }, 'loading...');
  if (!l.exists) {
    return el(
      'div',
      { class: 'empty', 'data-testid': 'empty-state' },
      el('p', {}, `The log directory ${l.label} does not exist.`),
      el(
        'p',
        {},
        'Train into it with ',
        el('code', {}, `pnpm bmp-train compare --log-dir ${l.label}`),
        state.source.kind === 'server'
          ? ': its runs appear here as they are written (the page follows the directory); or open run files with the buttons above (or drop them on the page).'
          : ', then reload; or open run files with the buttons above (or drop them on the page).',
      ),
    );
  }
  if (l.runs.length === 0) {
    return el(
      'div',
      { class: 'empty', 'data-testid': 'empty-state' },
      el('p', {}, `No runs in ${l.label}.`),
      el(
        'p',
        {},
        'A run is a directory holding config.json, metrics.jsonl or analysis.json (searched 3 levels deep). Start one with ',
        el('code', {}, `pnpm bmp-train compare --log-dir ${l.label}`),
        ', or open run files with the buttons above.',
      ),
    );
  }
  return null;
}

/** Every skipped line and bad config of the runs, listed (they are left out of the charts). */
export function problemsPanel(names?: ReadonlySet<string>): HTMLElement | null {
  const items: HTMLElement[] = [];
  for (const run of state.runs) {
    if (names && !names.has(run.name)) continue;
    for (const p of runProblems(run)) items.push(el('li', {}, `${run.name}: ${p}`));
  }
  if (items.length === 0) return null;
  return el(
    'div',
    { class: 'problems', 'data-testid': 'problems' },
    el('strong', {}, `${items.length} problem(s) in the run files; the lines named were skipped:`),
    el('ul', {}, ...items),
  );
}
