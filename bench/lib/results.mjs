// Machine description and result files for the benchmarks (bench/results/, git-ignored).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageVersion } from './tf.mjs';

export const RESULTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'results');

function git(args) {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    os: `${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism:
      typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    loadAverage1m5m15m: os.loadavg().map((l) => Math.round(l * 100) / 100),
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    packages: {
      '@tensorflow/tfjs-core': packageVersion('@tensorflow/tfjs-core'),
      '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
      '@tensorflow/tfjs-backend-cpu': packageVersion('@tensorflow/tfjs-backend-cpu'),
      '@bmp/optimizer': packageVersion('@bmp/optimizer'),
    },
    git: { commit: git(['rev-parse', 'HEAD']), dirty: (git(['status', '--porcelain']) ?? '') !== '' },
  };
}

/**
 * Writes `result` as JSON to bench/results/<name>-<ISO timestamp>.json and <name>-latest.json, or to
 * `out` (and still <name>-latest.json) when given. Returns the paths written.
 */
export function writeResults(name, result, out) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const main = out != null ? resolve(out) : resolve(RESULTS_DIR, `${name}-${stamp}.json`);
  const latest = resolve(RESULTS_DIR, `${name}-latest.json`);
  const text = `${JSON.stringify(result, null, 2)}\n`;
  mkdirSync(dirname(main), { recursive: true });
  writeFileSync(main, text);
  if (latest !== main) writeFileSync(latest, text);
  return [main, latest];
}
