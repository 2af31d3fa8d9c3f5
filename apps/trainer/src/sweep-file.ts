/**
 * A sweep file (JSON or YAML): the base settings and a grid of values, each key a setting of `train`
 * (its name in TrainSettings, or the flag's kebab-case spelling). Every value goes through the same
 * parser and choices as the flag of `train` on the command line, so a file accepts exactly what the
 * CLI accepts; errors name the file, the key and what is allowed (exit 2).
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Command, type Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { addTrainCommand } from './commands/train-command';
import { DEFAULTS, OPTIMIZERS, type OptimizerId, PRESETS, type TrainSettings, UsageError } from './config';

/** One grid axis: a setting over a list of (parsed) values. */
export interface GridAxis {
  key: keyof TrainSettings;
  values: unknown[];
}

/** The optimizer axis with its own sub-grid per optimizer (the optimizers are tuned separately). */
export interface OptimizerAxis {
  key: 'optimizer';
  byOptimizer: Array<{ optimizer: OptimizerId; grid: GridAxis[] }>;
}

export type GridEntry = GridAxis | OptimizerAxis;

export interface SweepSpec {
  /** The file it came from (for messages and sweep.json). */
  file: string;
  name?: string;
  preset?: string;
  base: Partial<TrainSettings>;
  grid: GridEntry[];
}

/** Settings a sweep sets itself (per run), never from the file. */
const NOT_IN_FILE = new Set(['runName']);
/** Settings only the base may hold (they are the sweep's, not a run's). */
const BASE_ONLY = new Set(['logDir']);
const TOP_KEYS = ['name', 'base', 'grid'];

let table: Map<string, { key: keyof TrainSettings; option: Option }> | null = null;

/** setting name or flag spelling -> the setting and the Option of `train` that parses it. */
function settingTable(): Map<string, { key: keyof TrainSettings; option: Option }> {
  if (table) return table;
  const train = addTrainCommand(new Command(), async () => undefined);
  table = new Map();
  for (const option of train.options) {
    const key = option.attributeName() as keyof TrainSettings;
    if (!(key in DEFAULTS) || NOT_IN_FILE.has(key)) continue;
    const entry = { key, option };
    table.set(key, entry);
    const flag = (option.long ?? '').replace(/^--/, '');
    table.set(flag, entry);
    if (option.negate) table.set(flag.replace(/^no-/, ''), entry); // position-scaling: true|false
  }
  return table;
}

export function settingKeys(): string[] {
  return [...new Set([...settingTable().values()].map((e) => e.key))];
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export class SweepFileError extends UsageError {}

/** Reads and validates a sweep file. */
export function readSweepFile(file: string): SweepSpec {
  if (!existsSync(file)) throw new UsageError(`sweep file ${file}: not found`);
  const text = readFileSync(file, 'utf8');
  let doc: unknown;
  const ext = extname(file).toLowerCase();
  try {
    doc = ext === '.json' ? JSON.parse(text) : parseYaml(text); // YAML 1.2 reads JSON too
  } catch (e) {
    throw new SweepFileError(
      `sweep file ${file}: not valid ${ext === '.json' ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`,
    );
  }
  return parseSweepSpec(doc, file);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a parsed sweep document; `file` names it in errors. */
export function parseSweepSpec(doc: unknown, file: string): SweepSpec {
  const fail = (msg: string): never => {
    throw new SweepFileError(`sweep file ${file}: ${msg}`);
  };
  if (!isObject(doc)) return fail('expected a mapping with base and grid');
  for (const k of Object.keys(doc))
    if (!TOP_KEYS.includes(k)) fail(`unknown key '${k}' at the top; allowed: ${TOP_KEYS.join(', ')}`);
  const spec: SweepSpec = { file, base: {}, grid: [] };
  if (doc.name !== undefined) {
    if (typeof doc.name !== 'string' || doc.name.trim() === '')
      fail(`name: expected a directory name, got ${JSON.stringify(doc.name)}`);
    spec.name = doc.name as string;
  }
  const base = doc.base ?? {};
  if (!isObject(base)) return fail('base: expected a mapping of settings (e.g. { epochs: 3 })');
  for (const [k, v] of Object.entries(base)) {
    if (k === 'preset') {
      if (typeof v !== 'string' || !(v in PRESETS))
        fail(`base.preset: unknown preset ${JSON.stringify(v)}; allowed: ${Object.keys(PRESETS).join(', ')}`);
      spec.preset = v as string;
      continue;
    }
    const { key, value } = parseSetting(k, v, `base.${k}`, fail);
    if (key in spec.base) fail(`base.${k}: '${key}' is given twice`);
    (spec.base as Record<string, unknown>)[key] = value;
  }
  if (doc.grid === undefined) fail('grid: missing (a mapping of settings to lists of values)');
  spec.grid = parseGrid(doc.grid, 'grid', fail, true);
  const keys = gridKeys(spec.grid);
  for (const k of keys) if (k in spec.base) fail(`grid.${k}: '${k}' is also in base; give it in one place`);
  return spec;
}

function parseGrid(
  grid: unknown,
  where: string,
  fail: (msg: string) => never,
  top: boolean,
): GridAxis[] | GridEntry[] {
  if (!isObject(grid)) return fail(`${where}: expected a mapping of settings to lists of values`);
  const out: GridEntry[] = [];
  const seen = new Set<string>();
  for (const [k, v] of Object.entries(grid)) {
    const entry = resolveKey(k, `${where}.${k}`, fail);
    if (seen.has(entry.key)) fail(`${where}.${k}: '${entry.key}' is given twice`);
    seen.add(entry.key);
    if (BASE_ONLY.has(entry.key)) fail(`${where}.${k}: '${entry.key}' belongs in base (one for the sweep)`);
    if (entry.key === 'optimizer' && isObject(v)) {
      if (!top) fail(`${where}.${k}: per-optimizer values only at the top of the grid`);
      const byOptimizer: OptimizerAxis['byOptimizer'] = [];
      for (const [opt, sub] of Object.entries(v)) {
        if (!(OPTIMIZERS as readonly string[]).includes(opt))
          fail(`${where}.optimizer.${opt}: unknown optimizer; allowed: ${OPTIMIZERS.join(', ')}`);
        const subGrid =
          sub == null ? [] : (parseGrid(sub, `${where}.optimizer.${opt}`, fail, false) as GridAxis[]);
        byOptimizer.push({ optimizer: opt as OptimizerId, grid: subGrid });
      }
      if (byOptimizer.length === 0) fail(`${where}.optimizer: no optimizer given`);
      out.push({ key: 'optimizer', byOptimizer });
      continue;
    }
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0) fail(`${where}.${k}: an empty list (give at least one value)`);
    const values = list.map((x, i) => parseSetting(k, x, `${where}.${k}[${i}]`, fail).value);
    out.push({ key: entry.key, values });
  }
  return out;
}

/** The keys of a grid, nested per-optimizer keys included, in order. */
export function gridKeys(grid: GridEntry[]): Array<keyof TrainSettings> {
  const keys: Array<keyof TrainSettings> = [];
  const add = (k: keyof TrainSettings) => {
    if (!keys.includes(k)) keys.push(k);
  };
  for (const e of grid) {
    add(e.key);
    if ('byOptimizer' in e) for (const b of e.byOptimizer) for (const s of b.grid) add(s.key);
  }
  return keys;
}

function resolveKey(k: string, where: string, fail: (msg: string) => never) {
  const entry = settingTable().get(k);
  if (!entry)
    return fail(
      `${where}: unknown key '${k}'; allowed: the settings of train (${settingKeys().map(kebab).join(', ')}, or their camelCase names)`,
    );
  return entry;
}

/** One setting's value, checked by the parser and choices of its `train` flag. */
function parseSetting(
  k: string,
  v: unknown,
  where: string,
  fail: (msg: string) => never,
): { key: keyof TrainSettings; value: unknown } {
  const { key, option } = resolveKey(k, where, fail);
  const takesValue = option.required || option.optional;
  if (!takesValue) {
    if (typeof v !== 'boolean') fail(`${where}: expected true or false, got ${JSON.stringify(v)}`);
    return { key, value: v };
  }
  if (v === null && DEFAULTS[key] === null) return { key, value: null };
  let s: string;
  if (typeof v === 'number' || typeof v === 'string') s = String(v);
  else if (Array.isArray(v) && (key === 'augment' || key === 'imageShape'))
    s = key === 'imageShape' ? v.join('x') : v.length === 0 ? 'none' : v.join(',');
  else return fail(`${where}: expected a single value, got ${JSON.stringify(v)}`);
  if (option.argChoices) {
    if (!option.argChoices.includes(s))
      fail(`${where}: ${JSON.stringify(v)} is not allowed; allowed: ${option.argChoices.join(', ')}`);
    return { key, value: s };
  }
  if (!option.parseArg) return { key, value: s };
  try {
    return { key, value: option.parseArg(s, undefined) };
  } catch (e) {
    const msg = (e as Error).message.replace(/\.$/, '');
    return fail(`${where}: ${msg}, got ${JSON.stringify(v)}`);
  }
}
