import {
  type AnalysisReport,
  analysisReportSchema,
  type LineProblem,
  type RunData,
  runFromTexts,
  safeParseWith,
} from '@bmp/runlog';

/** Size and mtime of a run file, as the viewer's server saw them. */
export interface FileStat {
  size: number;
  mtimeMs: number;
}

export interface RunEntry {
  name: string;
  /** Which of config.json, metrics.jsonl, analysis.json it has. */
  files: string[];
  /** From the server: each file's size and mtime (what live following compares). */
  stats?: Record<string, FileStat>;
}

export interface Listing {
  /** Where the runs come from, for the page: the log directory, or "files you picked". */
  label: string;
  /** False when the server's log directory does not exist. */
  exists: boolean;
  runs: RunEntry[];
  /** From the server: its clock when it took the listing (ms), to age the files' mtimes. */
  now?: number;
}

/** Where runs are read from: the viewer's server (a log directory) or files the user picked. */
export interface RunSource {
  kind: 'server' | 'files';
  list(): Promise<Listing>;
  /** The text of one file of a run, or undefined when it has none. */
  readText(run: string, file: string): Promise<string | undefined>;
}

/** `GET /api/snapshot` and each `/api/events` event (the server's LogDirSnapshot). */
export interface ServerSnapshot {
  logDir: string;
  exists: boolean;
  runs: RunEntry[];
  now: number;
}

export function listingFromSnapshot(s: ServerSnapshot): Listing {
  return { label: s.logDir, exists: s.exists, runs: s.runs, now: s.now };
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export function serverSource(base = ''): RunSource {
  return {
    kind: 'server',
    async list() {
      // The listing with sizes and mtimes, taken before the files are read: live following re-reads a
      // file whenever its stat differs from the one its text was read after.
      const res = await fetch(`${base}api/snapshot`);
      if (!res.ok) throw new Error(`GET api/snapshot: HTTP ${res.status}`);
      return listingFromSnapshot((await res.json()) as ServerSnapshot);
    },
    async readText(run, file) {
      const res = await fetch(`${base}api/files/${encodePath(run === '.' ? file : `${run}/${file}`)}`);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`GET ${run}/${file}: HTTP ${res.status}`);
      return res.text();
    },
  };
}

/** A picked file with the path it had (from a directory pick or a dropped folder), `/`-separated. */
export interface PickedFile {
  path: string;
  file: Blob;
}

const KNOWN = new Set(['config.json', 'metrics.jsonl', 'analysis.json']);

/**
 * Groups picked files into runs by directory: `a/b/metrics.jsonl` belongs to run `a/b`. A file picked
 * on its own (no directory) belongs to run `picked`; any other `*.jsonl` is read as metrics of a run
 * named after it.
 */
export function groupPickedFiles(files: readonly PickedFile[]): Map<string, Map<string, Blob>> {
  const runs = new Map<string, Map<string, Blob>>();
  for (const { path, file } of files) {
    const parts = path.split('/').filter(Boolean);
    const base = parts.pop() ?? '';
    let run = parts.join('/') || 'picked';
    let role = base;
    if (!KNOWN.has(base)) {
      if (!base.endsWith('.jsonl')) continue;
      run = [...parts, base.replace(/\.jsonl$/, '')].join('/');
      role = 'metrics.jsonl';
    }
    const m = runs.get(run) ?? new Map<string, Blob>();
    runs.set(run, m);
    m.set(role, file);
  }
  return runs;
}

export function filesSource(files: readonly PickedFile[]): RunSource {
  const runs = groupPickedFiles(files);
  return {
    kind: 'files',
    async list() {
      const names = [...runs.keys()].sort();
      return {
        label: `${files.length} file(s) you opened`,
        exists: true,
        runs: names.map((name) => ({ name, files: [...runs.get(name)!.keys()].sort() })),
      };
    },
    async readText(run, file) {
      const blob = runs.get(run)?.get(file);
      return blob ? blob.text() : undefined;
    },
  };
}

export interface LoadedRun extends RunData {
  files: string[];
  /**
   * Live following: metrics.jsonl ends in a line without its newline that is not valid JSON, and the
   * run is being written (no stop event, the file changed less than PENDING_TAIL_MS ago). The line is
   * held back from `problems` (it is probably being written) until `since + PENDING_TAIL_MS`.
   */
  pendingTail?: { problem: LineProblem; since: number };
}

/** How long an incomplete last line of a run being written may stay before it is reported. */
export const PENDING_TAIL_MS = 10_000;

/** Whether a run logged its stop event (finished, interrupted or failed). */
export function runEnded(run: RunData): boolean {
  return run.records.some((r) => r.type === 'event' && r.event === 'stop');
}

/**
 * Live following: holds back an incomplete last line of metrics.jsonl while the run may still be
 * writing it, i.e. it has not stopped and the file changed `ageMs` ago, less than PENDING_TAIL_MS.
 * `now` is the page's clock.
 */
export function holdPendingTail(run: LoadedRun, ageMs: number, now = Date.now()): void {
  const last = run.problems.at(-1);
  if (!last?.message.startsWith('incomplete last line') || runEnded(run)) return;
  if (!(ageMs < PENDING_TAIL_MS)) return;
  run.problems = run.problems.slice(0, -1);
  run.pendingTail = { problem: last, since: now - Math.max(0, ageMs) };
}

/** Reports the held-back last lines that stayed PENDING_TAIL_MS; true when any was. */
export function releaseStalePendingTails(runs: readonly LoadedRun[], now = Date.now()): boolean {
  let any = false;
  for (const run of runs) {
    if (run.pendingTail && now - run.pendingTail.since >= PENDING_TAIL_MS) {
      run.problems = [...run.problems, run.pendingTail.problem];
      delete run.pendingTail;
      any = true;
    }
  }
  return any;
}

export async function loadRun(source: RunSource, entry: RunEntry): Promise<LoadedRun> {
  const [configText, metricsText] = await Promise.all([
    entry.files.includes('config.json') ? source.readText(entry.name, 'config.json') : undefined,
    entry.files.includes('metrics.jsonl') ? source.readText(entry.name, 'metrics.jsonl') : undefined,
  ]);
  return { ...runFromTexts(entry.name, { configText, metricsText }), files: entry.files };
}

/**
 * Loads a run of the server while following it live: an incomplete last line of a run still being
 * written is held back (see holdPendingTail), aged by the server's clock.
 */
export async function loadLiveRun(source: RunSource, entry: RunEntry, serverNow: number): Promise<LoadedRun> {
  const run = await loadRun(source, entry);
  const mtime = entry.stats?.['metrics.jsonl']?.mtimeMs;
  if (mtime !== undefined) holdPendingTail(run, serverNow - mtime);
  return run;
}

export type AnalysisResult = { ok: true; report: AnalysisReport } | { ok: false; error: string };

export async function loadAnalysis(source: RunSource, run: string): Promise<AnalysisResult> {
  const text = await source.readText(run, 'analysis.json');
  if (text === undefined) return { ok: false, error: `${run} has no analysis.json` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${run}/analysis.json is not valid JSON: ${(e as Error).message}` };
  }
  const r = safeParseWith(analysisReportSchema, value);
  return r.ok ? { ok: true, report: r.value } : { ok: false, error: `${run}/analysis.json: ${r.error}` };
}

/** Every problem of a run in words: config.json's, then each skipped metrics.jsonl line. */
export function runProblems(run: RunData): string[] {
  const out: string[] = [];
  if (run.configProblem && run.configProblem !== 'config.json is missing') out.push(run.configProblem);
  for (const p of run.problems as LineProblem[])
    out.push(`metrics.jsonl line ${p.line}: ${p.message} (skipped)`);
  return out;
}
