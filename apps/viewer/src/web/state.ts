import { RunColors } from './colors';
import {
  forgetMetricsReads,
  type Listing,
  type LoadedRun,
  loadLiveRun,
  loadRun,
  type RunSource,
  serverSource,
} from './source';

/** What every page reads: the source, its listing and the loaded runs. */
export interface AppState {
  source: RunSource;
  listing: Listing | null;
  runs: LoadedRun[];
  colors: RunColors;
  /** Why the listing failed (no server, network error). */
  error: string | null;
  /** Runs shown on the curve pages (all by default). */
  selected: Set<string>;
  /**
   * Runs whose default selection was made (ticked once they had records): a run that appears, or gets
   * its first records, while followed live is ticked once; the user's ticks are left alone after that.
   */
  defaulted: Set<string>;
}

export const state: AppState = {
  source: serverSource(),
  listing: null,
  runs: [],
  colors: new RunColors([]),
  error: null,
  selected: new Set(),
  defaulted: new Set(),
};

/** (Re)loads the listing and every run of `source`. */
export async function useSource(source: RunSource): Promise<void> {
  state.source = source;
  state.error = null;
  forgetMetricsReads();
  try {
    const listing = await source.list();
    state.listing = listing;
    const now = listing.now;
    state.runs = await Promise.all(
      listing.runs.map((r) =>
        source.kind === 'server' && now !== undefined ? loadLiveRun(source, r, now) : loadRun(source, r),
      ),
    );
  } catch (e) {
    state.listing = null;
    state.runs = [];
    state.error =
      source.kind === 'server'
        ? `could not reach the viewer server (${(e as Error).message}). This is the static build: open run files with the buttons above, or start the server with pnpm viewer --log-dir <dir>.`
        : (e as Error).message;
  }
  state.colors = new RunColors(state.runs.map((r) => r.name));
  state.selected = new Set(state.runs.filter((r) => r.records.length > 0).map((r) => r.name));
  state.defaulted = new Set(state.selected);
}
