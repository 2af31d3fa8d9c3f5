import {
  type AnalysisReport,
  analysisReportSchema,
  type LineProblem,
  type RunData,
  runFromTexts,
  safeParseWith,
} from '@bmp/runlog';

export interface RunEntry {
  name: string;
  /** Which of config.json, metrics.jsonl, analysis.json it has. */
  files: string[];
}

export interface Listing {
  /** Where the runs come from, for the page: the log directory, or "files you picked". */
  label: string;
  /** False when the server's log directory does not exist. */
  exists: boolean;
  runs: RunEntry[];
}

/** Where runs are read from: the viewer's server (a log directory) or files the user picked. */
export interface RunSource {
  kind: 'server' | 'files';
  list(): Promise<Listing>;
  /** The text of one file of a run, or undefined when it has none. */
  readText(run: string, file: string): Promise<string | undefined>;
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export function serverSource(base = ''): RunSource {
  return {
    kind: 'server',
    async list() {
      const res = await fetch(`${base}api/runs`);
      if (!res.ok) throw new Error(`GET api/runs: HTTP ${res.status}`);
      const body = (await res.json()) as { logDir: string; exists: boolean; runs: RunEntry[] };
      return { label: body.logDir, exists: body.exists, runs: body.runs };
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
}

export async function loadRun(source: RunSource, entry: RunEntry): Promise<LoadedRun> {
  const [configText, metricsText] = await Promise.all([
    entry.files.includes('config.json') ? source.readText(entry.name, 'config.json') : undefined,
    entry.files.includes('metrics.jsonl') ? source.readText(entry.name, 'metrics.jsonl') : undefined,
  ]);
  return { ...runFromTexts(entry.name, { configText, metricsText }), files: entry.files };
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
