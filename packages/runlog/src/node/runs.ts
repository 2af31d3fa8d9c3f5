import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { RunData } from '../runs';
import { safeParseRunConfig } from '../validate';
import { readJsonlFile } from './read';

export interface NodeRunData extends RunData {
  /** Absolute or given path of the run directory. */
  dir: string;
  /** TensorBoard event files in the run directory. */
  eventFiles: string[];
}

/**
 * Reads one run directory: `config.json` (null with `configProblem` when missing or invalid),
 * `metrics.jsonl` (streamed; bad lines in `problems`) and the names of its event files. Never throws
 * on bad content; throws only if `dir` cannot be listed.
 */
export async function loadRun(dir: string, name = dir): Promise<NodeRunData> {
  const entries = await readdir(dir);
  const run: NodeRunData = {
    name,
    dir,
    config: null,
    records: [],
    problems: [],
    eventFiles: entries.filter((e) => e.startsWith('events.out.tfevents.')).sort(),
  };
  if (entries.includes('config.json')) {
    try {
      const r = safeParseRunConfig(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')));
      if (r.ok) run.config = r.value;
      else run.configProblem = `config.json: ${r.error}`;
    } catch (e) {
      run.configProblem = `config.json is not valid JSON: ${(e as Error).message}`;
    }
  } else run.configProblem = 'config.json is missing';
  if (entries.includes('metrics.jsonl')) {
    const m = await readJsonlFile(join(dir, 'metrics.jsonl'));
    run.records = m.records;
    run.problems = m.problems;
  }
  return run;
}

const SKIP = new Set(['checkpoints', 'node_modules']);

/** A run directory found by `findRunDirs`. */
export interface RunDirListing {
  /** Path relative to the log directory, `/`-separated ('.' when the log directory is itself a run). */
  name: string;
  dir: string;
  /** Which of the marker files it holds, in the order given. */
  files: string[];
}

/**
 * Finds run directories under `logDir`: those holding at least one of `markers` (default `config.json`,
 * `metrics.jsonl`), searched `maxDepth` levels deep (default 3, so that compare directories
 * `<log-dir>/<compare>/<run>` are found), not below a run, skipping hidden folders, `checkpoints` and
 * `node_modules`. Sorted by name; a missing `logDir` or an unreadable folder gives no entries.
 */
export async function findRunDirs(
  logDir: string,
  options: { maxDepth?: number; markers?: readonly string[] } = {},
): Promise<RunDirListing[]> {
  if (!existsSync(logDir)) return [];
  const maxDepth = options.maxDepth ?? 3;
  const markers = options.markers ?? ['config.json', 'metrics.jsonl'];
  const found: RunDirListing[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const files = markers.filter((f) => entries.some((e) => e.isFile() && e.name === f));
    if (files.length > 0) {
      found.push({ name: relative(logDir, dir).split(sep).join('/') || '.', dir, files });
      return;
    }
    if (depth >= maxDepth) return;
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name))
        await walk(join(dir, e.name), depth + 1);
    }
  };
  await walk(logDir, 0);
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Finds the runs under `logDir` (`findRunDirs`: directories holding `config.json` or `metrics.jsonl`) and
 * loads them. Run names are paths relative to `logDir` with `/` separators, sorted. A missing `logDir`
 * gives an empty list.
 */
export async function listRuns(logDir: string, options: { maxDepth?: number } = {}): Promise<NodeRunData[]> {
  const dirs = await findRunDirs(logDir, options);
  return Promise.all(dirs.map((d) => loadRun(d.dir, d.name)));
}
