import { epochRecords, type RunConfig, runIdentity } from '@bmp/runlog';
import { el, fmt } from '../dom';
import type { LoadedRun } from '../source';
import { state } from '../state';
import { emptyState, problemsPanel } from './common';

/** The runs list: one row per run, with its identity, final test error and links to its pages. */
export function runsPage(root: HTMLElement): void {
  mounted = null;
  root.append(el('h2', {}, 'Runs'));
  const empty = emptyState();
  if (empty) {
    root.append(empty);
    return;
  }
  const rows = state.runs.map((run) => {
    const box = el('input', { type: 'checkbox', 'data-run': run.name });
    box.checked = state.selected.has(run.name);
    box.addEventListener('change', () => {
      if (box.checked) state.selected.add(run.name);
      else state.selected.delete(run.name);
    });
    return el(
      'tr',
      { 'data-testid': 'run-row', 'data-run-row': run.name },
      el('td', {}, box),
      ...runCells(run),
    );
  });
  const problemsBox = el('div', {}, problemsPanel());
  const tbody = el('tbody', {}, ...rows);
  root.append(
    el('p', { class: 'note' }, `Source: ${state.listing?.label}. Ticked runs are drawn on the curves page.`),
    el('p', {}, el('a', { href: '#/curves' }, 'curves of the ticked runs')),
    el(
      'table',
      { 'data-testid': 'runs-table' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...[
            '',
            '',
            'run',
            'comparison',
            'optimizer',
            'seed',
            'model / data',
            'backend / device',
            'epochs',
            'final test error',
            '',
          ].map((h) => el('th', {}, h)),
        ),
      ),
      tbody,
    ),
    problemsBox,
  );
  mounted = { tbody, problemsBox, names: state.runs.map((r) => r.name).join('\n') };
}

/** The shown runs table, for live updates in place (null when another page is shown). */
let mounted: { tbody: HTMLElement; problemsBox: HTMLElement; names: string } | null = null;

/**
 * A live update of the shown runs page in place: the cells of each row but its tick box are rewritten
 * (a click on a box is never lost to a redraw). False when the runs listed changed: draw the page anew.
 */
export function updateRunsInPlace(): boolean {
  if (!mounted?.tbody.isConnected || mounted.names !== state.runs.map((r) => r.name).join('\n')) return false;
  const rows = [...mounted.tbody.children] as HTMLTableRowElement[];
  state.runs.forEach((run, i) => {
    const row = rows[i];
    const boxCell = row.children[0];
    row.replaceChildren(boxCell, ...runCells(run));
    const box = boxCell.querySelector('input');
    if (box) box.checked = state.selected.has(run.name);
  });
  mounted.problemsBox.replaceChildren(...[problemsPanel()].filter((p): p is HTMLElement => p !== null));
  return true;
}

/** A run's row of the runs table after its tick box. */
function runCells(run: LoadedRun): HTMLElement[] {
  const id = runIdentity(run);
  const epochs = epochRecords(run.records);
  const last = epochs.at(-1);
  const enc = encodeURIComponent(run.name);
  const hasScales = run.records.some((r) => r.type !== 'event' && (r.scales?.length ?? 0) > 0);
  return [
    el('td', {}, el('span', { class: 'swatch', style: `background:${state.colors.get(run.name)}` })),
    el('td', {}, run.name),
    el('td', {}, id.compareId ?? '-'),
    el('td', {}, id.optimizer ?? '-'),
    el('td', {}, id.seed === null ? '-' : id.seed),
    el(
      'td',
      {},
      run.config ? `${run.config.model.name} / ${run.config.dataset.name}` : (run.configProblem ?? '-'),
    ),
    backendCell(run.config),
    el('td', {}, epochs.length),
    el('td', {}, last ? `${fmt(last.testError * 100)}%` : '-'),
    el(
      'td',
      {},
      hasScales ? el('a', { href: `#/scales?run=${enc}` }, 'scales') : null,
      ' ',
      run.files.includes('analysis.json') ? el('a', { href: `#/spectra?run=${enc}` }, 'spectra') : null,
    ),
  ];
}

/**
 * The backend a run computed with and on what: "webgpu" over "nvidia hopper (...)", marked when the
 * adapter was a software one (WebGPU emulated on the CPU). Runs from before the device was recorded show
 * the backend only.
 */
function backendCell(config: RunConfig | null | undefined): HTMLElement {
  if (!config) return el('td', {}, '-');
  const device = config.device;
  const software = device?.kind === 'software-gpu';
  return el(
    'td',
    { 'data-testid': 'run-backend', ...(device ? { title: device.label } : {}) },
    config.backend,
    device ? el('br') : null,
    device ? el('span', { class: software ? 'note warn' : 'note' }, deviceText(device)) : null,
  );
}

function deviceText(device: NonNullable<RunConfig['device']>): string {
  if (device.kind === 'cpu') return 'CPU';
  const a = device.adapter;
  const name = a ? a.description || [a.vendor, a.architecture].filter(Boolean).join(' ') : device.label;
  return device.kind === 'software-gpu' ? `${name} (software, emulated on the CPU)` : name;
}
