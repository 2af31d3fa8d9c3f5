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
  /** The inode: another number means the file was replaced, not appended to. */
  ino?: number;
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
  /**
   * The server only: a file's bytes from `offset` on (an HTTP range), or null when the server cannot
   * give that range (the file is shorter now); undefined when the file is gone.
   */
  readBytesFrom?(run: string, file: string, offset: number): Promise<Uint8Array | null | undefined>;
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
    async readBytesFrom(run, file, offset) {
      const url = `${base}api/files/${encodePath(run === '.' ? file : `${run}/${file}`)}`;
      const res = await fetch(url, offset > 0 ? { headers: { range: `bytes=${offset}-` } } : {});
      if (res.status === 404) return undefined;
      if (res.status === 416) return null;
      if (offset > 0 && res.status !== 206) return null; // the range was not honoured: read it whole
      if (!res.ok) throw new Error(`GET ${run}/${file}: HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

/**
 * What was read of a followed run's metrics.jsonl: its complete lines (`text`, `bytes` long), how many
 * bytes were read in all, and the file's inode. The next read asks only for what follows `bytes`.
 */
interface MetricsRead {
  text: string;
  /** What followed the last newline (a line being written), decoded. */
  rest: string;
  bytes: number;
  read: number;
  ino?: number;
  /** The file's mtime in the listing the read was made for. */
  mtimeMs?: number;
}

/** Per run of the followed server: what was read of its metrics.jsonl (cleared on a change of source). */
const metricsReads = new Map<string, MetricsRead>();

export function forgetMetricsReads(): void {
  metricsReads.clear();
}

const NEWLINE = 10;

/**
 * A followed run's metrics.jsonl, reading only what was appended since the last read: the complete
 * lines read before plus the bytes from there on (a half-written last line is read again next time).
 * Read whole when it is the first read, the file got shorter or was replaced (another inode), or the
 * server does not give the range.
 */
async function readMetricsFollowing(
  source: RunSource,
  run: string,
  stat: FileStat | undefined,
): Promise<string | undefined> {
  const readFrom = source.readBytesFrom;
  if (!readFrom) return source.readText(run, 'metrics.jsonl');
  const last = metricsReads.get(run);
  const appendable = last && stat && stat.size >= last.read && stat.ino === last.ino;
  // Unchanged (the run is re-read for another of its files): nothing to fetch.
  if (appendable && stat.size === last.read && stat.mtimeMs === last.mtimeMs) return last.text + last.rest;
  const empty: MetricsRead = {
    text: '',
    rest: '',
    bytes: 0,
    read: 0,
    ino: stat?.ino,
    mtimeMs: stat?.mtimeMs,
  };
  let base: MetricsRead = appendable ? last : empty;
  let chunk = await readFrom(run, 'metrics.jsonl', base.bytes);
  if (chunk === null && base.bytes > 0) {
    base = empty;
    chunk = await readFrom(run, 'metrics.jsonl', 0);
  }
  if (chunk === undefined || chunk === null) {
    metricsReads.delete(run);
    return chunk === null ? '' : undefined;
  }
  const cut = chunk.lastIndexOf(NEWLINE) + 1;
  // Whole lines only are decoded into the kept text (a UTF-8 character never spans a newline byte).
  const complete = new TextDecoder().decode(chunk.subarray(0, cut));
  const rest = new TextDecoder().decode(chunk.subarray(cut));
  metricsReads.set(run, {
    text: base.text + complete,
    rest,
    bytes: base.bytes + cut,
    read: base.bytes + chunk.length,
    ino: stat?.ino,
    mtimeMs: stat?.mtimeMs,
  });
  return base.text + complete + rest;
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
  const [configText, metricsText] = await Promise.all([
    entry.files.includes('config.json') ? source.readText(entry.name, 'config.json') : undefined,
    entry.files.includes('metrics.jsonl')
      ? readMetricsFollowing(source, entry.name, entry.stats?.['metrics.jsonl'])
      : undefined,
  ]);
  if (!entry.files.includes('metrics.jsonl')) metricsReads.delete(entry.name);
  const run: LoadedRun = { ...runFromTexts(entry.name, { configText, metricsText }), files: entry.files };
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
