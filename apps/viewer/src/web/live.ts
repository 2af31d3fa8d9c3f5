import {
  type FileStat,
  type LoadedRun,
  listingFromSnapshot,
  loadLiveRun,
  type RunEntry,
  type RunSource,
  releaseStalePendingTails,
  type ServerSnapshot,
} from './source';
import { state } from './state';

/** What a live update changed, for deciding which page to redraw. */
export interface LiveChange {
  /** Runs re-read (new, or a file changed). */
  changed: string[];
  /** Runs no longer listed. */
  removed: string[];
  /** Whether an analysis.json appeared, changed or went. */
  analysis: boolean;
}

const sameStats = (a: RunEntry, b: RunEntry): boolean =>
  a.files.join('\n') === b.files.join('\n') && a.files.every((f) => statEq(a.stats?.[f], b.stats?.[f]));

const statEq = (a: FileStat | undefined, b: FileStat | undefined): boolean =>
  a !== undefined && b !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs;

let events: EventSource | null = null;
let ticker: ReturnType<typeof setInterval> | null = null;
let followed: RunSource | null = null;
let busy = false;
let queued: ServerSnapshot | null = null;
let retry: ReturnType<typeof setTimeout> | null = null;

function indicator(text: string, state: 'ok' | 'off' | 'error'): void {
  const e = document.getElementById('live');
  if (!e) return;
  e.textContent = text;
  e.dataset.state = state;
}

const clock = (d = new Date()) => d.toTimeString().slice(0, 8);

/**
 * Follows the server's log directory: `/api/events` sends a snapshot (runs, file sizes and mtimes)
 * whenever the directory changes; the runs whose files changed, and new ones, are re-read and
 * `onChange` redraws the page. Held-back incomplete last lines are reported once they go stale.
 * Only for the server: files opened in the browser stay as they were read (stopLive).
 */
export function startLive(onChange: (change: LiveChange) => void): void {
  stopLive();
  if (state.source.kind !== 'server' || typeof EventSource === 'undefined') return;
  const source = state.source;
  followed = source;
  events = new EventSource('api/events');
  indicator('live: connecting...', 'off');
  events.addEventListener('snapshot', (e) => {
    let snap: ServerSnapshot;
    try {
      snap = JSON.parse((e as MessageEvent<string>).data) as ServerSnapshot;
    } catch {
      return;
    }
    void apply(source, snap, onChange);
  });
  // EventSource reconnects by itself (the server asks for 2 s).
  events.addEventListener('error', () => indicator('live: disconnected, reconnecting...', 'error'));
  ticker = setInterval(() => {
    if (releaseStalePendingTails(state.runs)) onChange({ changed: [], removed: [], analysis: false });
  }, 1000);
}

export function stopLive(): void {
  events?.close();
  events = null;
  if (ticker) clearInterval(ticker);
  ticker = null;
  if (retry) clearTimeout(retry);
  retry = null;
  followed = null;
  queued = null;
  indicator('', 'off');
}

/** Applies snapshots one at a time; while one is read, only the newest one waiting is kept. */
async function apply(
  source: RunSource,
  snap: ServerSnapshot,
  onChange: (change: LiveChange) => void,
): Promise<void> {
  if (busy) {
    queued = snap;
    return;
  }
  busy = true;
  try {
    const change = await update(source, snap);
    if (followed !== source) return;
    indicator(`live: updated ${clock()}`, 'ok');
    if (change) onChange(change);
  } catch (e) {
    // A file that could not be read now (removed, server busy): try the same snapshot again shortly,
    // unless a newer one comes first.
    console.warn(`live update failed: ${(e as Error).message}`);
    indicator(`live: update failed at ${clock()}, retrying`, 'error');
    if (retry) clearTimeout(retry);
    retry = setTimeout(() => {
      retry = null;
      if (followed === source && !queued) void apply(source, snap, onChange);
    }, 2000);
  } finally {
    busy = false;
    const next = queued;
    queued = null;
    if (next && followed === source) void apply(source, next, onChange);
  }
}

/** Re-reads what changed between the shown listing and `snap`; null when nothing did. */
async function update(source: RunSource, snap: ServerSnapshot): Promise<LiveChange | null> {
  const before = new Map((state.listing?.runs ?? []).map((r) => [r.name, r]));
  const stale = snap.runs.filter((r) => {
    const b = before.get(r.name);
    return !b || !sameStats(b, r);
  });
  const names = new Set(snap.runs.map((r) => r.name));
  const removed = [...before.keys()].filter((n) => !names.has(n));
  const existedBefore = state.listing?.exists;
  if (stale.length === 0 && removed.length === 0 && existedBefore === snap.exists && state.error === null)
    return null;
  const loaded = await Promise.all(stale.map((r) => loadLiveRun(source, r, snap.now)));
  if (followed !== source || state.source !== source) return null; // files were opened meanwhile
  const byName = new Map<string, LoadedRun>(state.runs.map((r) => [r.name, r]));
  for (const r of loaded) byName.set(r.name, r);
  const analysis =
    removed.some((n) => before.get(n)?.files.includes('analysis.json')) ||
    stale.some((r) => {
      const b = before.get(r.name);
      return (
        r.files.includes('analysis.json') !== (b?.files.includes('analysis.json') ?? false) ||
        (r.files.includes('analysis.json') &&
          !statEq(r.stats?.['analysis.json'], b?.stats?.['analysis.json']))
      );
    });
  state.error = null;
  state.listing = listingFromSnapshot(snap);
  state.runs = snap.runs.map((r) => byName.get(r.name)).filter((r): r is LoadedRun => r !== undefined);
  state.colors = state.colors.withRuns(state.runs.map((r) => r.name));
  for (const n of removed) {
    state.selected.delete(n);
    state.defaulted.delete(n);
  }
  // A run that appeared, or logged its first records, is ticked once; the user's choices stay.
  for (const r of state.runs) {
    if (r.records.length > 0 && !state.defaulted.has(r.name)) {
      state.defaulted.add(r.name);
      state.selected.add(r.name);
    }
  }
  return { changed: stale.map((r) => r.name), removed, analysis };
}
