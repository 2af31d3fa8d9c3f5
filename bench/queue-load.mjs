// The queue under load: a sweep of many tiny runs through Redis on several `bmp-train worker`s, one worker
// SIGKILLed (and replaced) every few seconds and Redis restarted once (from its append-only file). It
// checks that every run completed exactly once, with no metrics line lost or duplicated, and reports
// jobs/s and the worker time per run outside training (an upper bound on the queue's overhead). Needs redis-server (apt-get install redis-server) and a built
// trainer (pnpm build).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, writeResults } from './lib/results.mjs';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'apps', 'trainer', 'dist', 'cli.js');

export const description =
  'many tiny runs through BullMQ/Redis on several workers, with workers SIGKILLed and Redis restarted: every run exactly once, jobs/s, overhead per run';

export const options = {
  runs: { type: 'string', default: '200', help: 'runs in the sweep' },
  workers: { type: 'string', default: '4', help: 'worker processes' },
  'kill-every': {
    type: 'string',
    default: '4',
    help: 'seconds between SIGKILLs of a random worker (0: none)',
  },
  'no-restart': { type: 'boolean', help: 'do not restart Redis' },
  out: { type: 'string', help: 'JSON output path' },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** redis-server with an append-only file; `restart()` stops it (SIGTERM) and starts it on the same files. */
async function startRedis(dir, port) {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--dir',
    dir,
  ];
  let child;
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await sleep(300);
  };
  const halt = (signal) =>
    new Promise((res) => {
      if (child.exitCode != null || child.signalCode != null) return res();
      child.once('exit', res);
      child.kill(signal);
    });
  await start();
  return {
    stop: () => halt('SIGKILL'),
    restart: async () => {
      await halt('SIGTERM');
      await sleep(1500);
      await start();
    },
  };
}

function startWorker(url, logDir, lockSeconds) {
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--queue', url, '--log-dir', logDir, '--lock-seconds', String(lockSeconds)],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  return child;
}

/** Each run directory's records: exactly `epochs` epoch records and no (type, step) seen twice. */
function checkRun(runDir, epochs) {
  const records = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
  const seen = new Set();
  let duplicates = 0;
  for (const r of records.filter((x) => x.type !== 'event')) {
    const key = `${r.type}:${r.type === 'epoch' ? r.epoch : r.step}`;
    if (seen.has(key)) duplicates++;
    seen.add(key);
  }
  const epochRecords = records.filter((r) => r.type === 'epoch');
  const events = records.filter((r) => r.type === 'event').map((r) => r.event);
  return {
    epochs: epochRecords.length,
    duplicates,
    resumes: events.filter((e) => e === 'resume').length,
    stops: events.filter((e) => e === 'stop').length,
    trainSeconds: epochRecords.reduce((t, r) => t + (r.epochSeconds ?? 0), 0),
    ok: epochRecords.length === epochs && duplicates === 0,
  };
}

export async function run(values) {
  const runs = Number(values.runs);
  const nWorkers = Number(values.workers);
  const killEvery = Number(values['kill-every']);
  // long enough (about a second each here) for a SIGKILL to land in the middle of runs
  const epochs = 3;
  const base = join(mkdtempSync(join(tmpdir(), 'bmp-queue-load-')));
  const logDir = join(base, 'runs');
  const port = await freePort();
  const redis = await startRedis(base, port);
  const url = `redis://127.0.0.1:${port}`;
  const sweepFile = join(base, 'load.json');
  writeFileSync(
    sweepFile,
    JSON.stringify({
      name: 'load',
      base: {
        dataset: 'synthetic',
        'image-shape': '8x8x1',
        'synthetic-count': 80,
        'batch-size': 40,
        backend: 'wasm',
        model: 'mlp',
        width: 8,
        epochs,
        'checkpoint-every': 1,
        'log-every-steps': 1,
      },
      grid: { seed: Array.from({ length: runs }, (_, i) => i) },
    }),
  );
  const workers = Array.from({ length: nWorkers }, () => startWorker(url, logDir, 3));
  const started = Date.now();
  const coordinator = spawn(
    process.execPath,
    [CLI, 'sweep', sweepFile, '--queue', url, '--log-dir', logDir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  coordinator.stdout.on('data', (d) => {
    out += d;
  });
  const finished = new Promise((res) => coordinator.once('exit', (code) => res(code)));
  let kills = 0;
  let restarted = false;
  let done = false;
  finished.then(() => {
    done = true;
  });
  // chaos, checked every second: a random worker SIGKILLed and replaced every killEvery seconds; Redis
  // restarted once, when a third of the runs have ended
  let lastKill = Date.now();
  while (!done) {
    await Promise.race([sleep(1000), finished]);
    if (done) break;
    if (killEvery > 0 && Date.now() - lastKill >= killEvery * 1000) {
      lastKill = Date.now();
      const i = Math.floor(Math.random() * workers.length);
      workers[i].kill('SIGKILL');
      workers[i] = startWorker(url, logDir, 3);
      kills++;
    }
    const ended = (out.match(/\] completed \(/g) ?? []).length;
    if (!values['no-restart'] && !restarted && ended >= runs / 3) {
      restarted = true;
      console.log(`restarting Redis after ${ended} runs ended`);
      await redis.restart();
    }
  }
  const code = await finished;
  const seconds = (Date.now() - started) / 1000;
  for (const w of workers) w.kill('SIGKILL');
  await redis.stop();
  const sweepDir = join(logDir, 'load');
  const plan = JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8'));
  const checks = readdirSync(sweepDir)
    .filter((n) => n.startsWith('seed-'))
    .map((n) => ({ run: n, ...checkRun(join(sweepDir, n), epochs) }));
  const bad = checks.filter((c) => !c.ok);
  const trainSeconds = checks.reduce((t, c) => t + c.trainSeconds, 0);
  const result = {
    benchmark: 'queue-load',
    machine: machineInfo(),
    settings: { runs, workers: nWorkers, killEverySeconds: killEvery, redisRestarted: restarted, epochs },
    coordinatorExit: code,
    sweepStatus: plan.status,
    finishedRuns: plan.runs.filter((r) => r.status === 'finished').length,
    runDirs: checks.length,
    badRuns: bad,
    workerKills: kills,
    resumedRuns: checks.filter((c) => c.resumes > 0).length,
    wallSeconds: seconds,
    jobsPerSecond: runs / seconds,
    trainSecondsTotal: trainSeconds,
    // worker time per run outside training epochs: data and model set-up, evaluation, checkpoints and
    // config files (fsynced), and the queue (taking, locking, reporting, completing a job)
    outsideTrainingSecondsPerRun: (seconds * nWorkers - trainSeconds) / runs,
  };
  const [path] = writeResults('queue-load', result, values.out);
  console.log(
    `${result.finishedRuns}/${runs} runs finished (sweep ${plan.status}, coordinator exit ${code}); ${bad.length} run(s) with lost or duplicated lines; ` +
      `${kills} worker(s) SIGKILLed, ${result.resumedRuns} run(s) resumed, Redis restarted: ${restarted}\n` +
      `${seconds.toFixed(1)} s: ${result.jobsPerSecond.toFixed(2)} jobs/s; training ${trainSeconds.toFixed(1)} s in all; ${result.outsideTrainingSecondsPerRun.toFixed(2)} s of worker time per run outside training epochs (set-up, evaluation, checkpoints, queue)\n` +
      `wrote ${path}`,
  );
  if (code !== 0 || bad.length > 0 || result.finishedRuns !== runs) process.exitCode = 1;
}
