import './style.css';
import { captureChartViews, destroyCharts, restoreChartViews, viewerHook } from './chart';
import { el, hashPath } from './dom';
import { type LiveChange, startLive, stopLive } from './live';
import { curvesPage, updateCurvesInPlace } from './pages/curves';
import { labPage } from './pages/lab';
import { runsPage, updateRunsInPlace } from './pages/runs';
import { scalesPage } from './pages/scales';
import { spectraPage } from './pages/spectra';
import { filesSource, type PickedFile, serverSource } from './source';
import { state, useSource } from './state';

const PAGES: Record<string, (root: HTMLElement) => void> = {
  '/': runsPage,
  '/curves': curvesPage,
  '/scales': scalesPage,
  '/spectra': spectraPage,
  '/lab': labPage,
};

function render(): void {
  const root = document.getElementById('app')!;
  destroyCharts();
  root.replaceChildren();
  const page = PAGES[hashPath()] ?? runsPage;
  try {
    page(root);
  } catch (e) {
    root.append(el('p', { class: 'error' }, `this page failed: ${(e as Error).message}`));
    console.error(e);
  }
  document.getElementById('source-label')!.textContent = state.listing
    ? `${state.source.kind === 'server' ? 'log dir' : 'opened'}: ${state.listing.label}`
    : '';
  viewerHook().renders++;
}

/**
 * Redraws the page after a live update, keeping what the user set: selection and the curve settings
 * live in `state` and `curveSettings`; the charts' zoom and hidden series and the scroll position are
 * carried over here. The lab has nothing from the runs; the spectra page only its analysis.json.
 */
function liveRender(change: LiveChange): void {
  const path = hashPath();
  if (path === '/lab') return;
  if (path === '/spectra' && !change.analysis && change.removed.length === 0) return;
  const hook = viewerHook();
  if ((path === '/curves' && updateCurvesInPlace()) || updateRunsInPlace()) {
    hook.liveUpdates = (hook.liveUpdates ?? 0) + 1;
    return;
  }
  const views = captureChartViews();
  const { scrollX, scrollY } = window;
  render();
  restoreChartViews(views);
  // uPlot sizes its canvases in a microtask queued by render(): scroll back once the page has its height.
  queueMicrotask(() => {
    window.scrollTo(scrollX, scrollY);
    hook.liveUpdates = (hook.liveUpdates ?? 0) + 1;
  });
}

async function open(files: PickedFile[]): Promise<void> {
  if (files.length === 0) return;
  stopLive(); // files opened by hand are read once: live following is for the server's log directory
  await useSource(filesSource(files));
  render();
}

function pickedFromInput(input: HTMLInputElement): PickedFile[] {
  return [...(input.files ?? [])].map((f) => ({ path: f.webkitRelativePath || f.name, file: f }));
}

/** Files of a dropped folder, recursively, with their paths. */
async function entryFiles(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    out.push({ path: `${prefix}${entry.name}`, file });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    for (const e of batch) await entryFiles(e, `${prefix}${entry.name}/`, out);
  }
}

function setUpFileOpening(): void {
  for (const id of ['pick-files', 'pick-dir']) {
    const input = document.getElementById(id) as HTMLInputElement;
    input.addEventListener('change', () => void open(pickedFromInput(input)));
  }
  let depth = 0;
  window.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth++;
    document.body.classList.add('dragging');
  });
  window.addEventListener('dragleave', () => {
    if (--depth <= 0) document.body.classList.remove('dragging');
  });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    document.body.classList.remove('dragging');
    const items = [...(e.dataTransfer?.items ?? [])];
    const entries = items.map((i) => i.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => x != null);
    void (async () => {
      const files: PickedFile[] = [];
      if (entries.length > 0) for (const en of entries) await entryFiles(en, '', files);
      else for (const f of e.dataTransfer?.files ?? []) files.push({ path: f.name, file: f });
      await open(files);
    })();
  });
}

async function start(): Promise<void> {
  setUpFileOpening();
  window.addEventListener('hashchange', render);
  await useSource(serverSource());
  render();
  if (state.source.kind === 'server' && state.error === null) startLive(liveRender);
}

void start();
