/**
 * `bmp-train sweep <file>`: a grid of runs from a sweep file, run locally `--jobs` at a time;
 * `sweep --resume <dir>` continues one, `sweep status|cancel <dir-or-id>` shows or stops one.
 */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { BACKEND_CHOICES, type BackendChoice, UsageError } from '../config';
import { EXIT } from '../errors';
import { createReporter, defaultMode } from '../progress';
import { DEFAULT_PREFIX } from '../queue/job-data';
import { checkServer, REDIS_URL_ENV, redisTarget } from '../queue/redis-url';
import { cancelQueuedSweep, enqueueSweep, followSweep } from '../queue/sweep-queued';
import {
  cancelSweep,
  formatStatus,
  formatSweep,
  resumeSweep,
  runSweep,
  type SweepResumeOverrides,
  sweepStatus,
} from '../sweep';
import { readSweepFile } from '../sweep-file';
import { planSweep, readSweepPlan, SWEEP_FILE, type SweepPlan, sweepDir } from '../sweep-plan';
import { defaultJobs } from './default-jobs';
import { interrupts, runExit } from './outcome';
import { positiveInt } from './parsers';
import type { Opts } from './run-options';

export function addSweepCommand(
  program: Command,
  action: (this: Command, first: string | undefined, id: string | undefined, opts: Opts) => Promise<void>,
): Command {
  return program
    .command('sweep')
    .description(
      'a grid of runs from a sweep file (JSON or YAML: base settings and a grid of values), run locally; ' +
        '`sweep status <dir-or-id>` shows one, `sweep cancel <dir-or-id>` stops one',
    )
    .helpOption('-h, --help', 'show the flags of sweep')
    .argument('[file]', 'the sweep file, or status | cancel')
    .argument('[dir-or-id]', 'status, cancel: the sweep directory, or its name under --log-dir')
    .option(
      '--log-dir <dir>',
      "directory for the sweep's directory (default: the file's base.logDir, else runs/)",
    )
    .option('--name <name>', "the sweep's directory name (default: the file's name, else sweep-<time>)")
    .option(
      '--jobs <n>',
      'runs at once, each in its own process (default: 2 on 2+ cores for CPU backends, 1 on a GPU; 1 runs in this process)',
      positiveInt,
    )
    .addOption(
      new Option('--backend <name>', "tfjs backend of every run (overrides the file's)").choices(
        BACKEND_CHOICES,
      ),
    )
    .option(
      '--resume <sweep-dir>',
      'continue an interrupted or cancelled sweep: finished runs are skipped, the others resume from their checkpoint or start',
    )
    .option('--epochs <n>', 'with --resume: a new number of epochs for every run', positiveInt)
    .option('--data-dir <dir>', 'with --resume: a new data directory for every run')
    .option(
      '--queue [redis-url]',
      'train the runs on `bmp-train worker`s through Redis (URL or BMP_REDIS_URL); they must share --log-dir',
    )
    .option('--detach', 'with --queue: return once the runs are enqueued (follow with sweep status)')
    .option('--queue-prefix <prefix>', 'with --queue: BullMQ key prefix (default bmp)')
    .option('--json', 'machine-readable progress and result: one JSON object per line on stdout')
    .action(action);
}

export async function sweepAction(
  this: Command,
  first: string | undefined,
  id: string | undefined,
  opts: Opts,
): Promise<void> {
  if (first === 'status' || first === 'cancel') {
    if (!id)
      throw new UsageError(
        `sweep ${first}: give the sweep's directory or its name (bmp-train sweep ${first} <dir-or-id>)`,
      );
    const dir = sweepDir(id, opts.logDir as string | undefined);
    if (first === 'status') {
      const s = await sweepStatus(dir);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ type: 'sweep-status', ...s, plan: undefined, sweepId: s.plan.sweepId, dir: s.plan.dir, status: s.plan.status })}\n`
          : `${formatStatus(s)}\n`,
      );
    } else if ((await readSweepPlan(dir)).status === 'queued') {
      await cancelQueued(dir, opts);
    } else {
      const plan = await cancelSweep(dir);
      process.stdout.write(
        plan.status === 'cancelled'
          ? `sweep ${plan.sweepId}: cancelled (runs checkpointed; continue with: bmp-train sweep --resume ${plan.dir})\n`
          : `sweep ${plan.sweepId}: already ${plan.status}, nothing to cancel\n`,
      );
    }
    return;
  }
  if (id !== undefined) throw new UsageError(`sweep: one sweep file, got '${first}' and '${id}'`);
  const backend = opts.backend as BackendChoice | undefined;
  if (opts.queue === undefined)
    for (const flag of ['detach', 'queuePrefix'] as const)
      if (opts[flag] !== undefined)
        throw new UsageError(`sweep: --${flag === 'detach' ? 'detach' : 'queue-prefix'} goes with --queue`);
  if (opts.queue !== undefined) {
    if (opts.resume)
      throw new UsageError(
        'sweep --resume with --queue: not available; queued runs go on on the workers (sweep status <dir> shows them), and a run that failed for good is retried by a new sweep or locally with sweep --resume',
      );
    if (opts.jobs !== undefined)
      throw new UsageError('sweep --jobs with --queue: the workers decide (worker --concurrency)');
    if (!first) throw new UsageError('sweep --queue: give a sweep file');
    const plan = planSweep(readSweepFile(first), {
      logDir: opts.logDir as string | undefined,
      name: opts.name as string | undefined,
      backend,
    });
    await queuedSweep(plan, opts);
    return;
  }
  const reporter = createReporter(defaultMode(Boolean(opts.json)));
  const processes = { cli: process.argv[1], execArgv: process.execArgv };
  let plan: SweepPlan;
  let runsToDo: number;
  if (opts.resume) {
    if (first) throw new UsageError('sweep --resume: give the sweep directory only, not a sweep file');
    for (const flag of ['name', 'logDir'])
      if (opts[flag] !== undefined)
        throw new UsageError(
          `sweep --resume: --${flag === 'logDir' ? 'log-dir' : flag} cannot change a stored sweep`,
        );
    plan = await readSweepPlan(sweepDir(String(opts.resume)));
    runsToDo = plan.runs.filter((r) => r.status !== 'finished').length;
  } else {
    if (!first) throw new UsageError('sweep: give a sweep file (bmp-train sweep <file>), or --resume <dir>');
    for (const flag of ['epochs', 'dataDir'])
      if (opts[flag] !== undefined)
        throw new UsageError(
          `sweep: --${flag === 'dataDir' ? 'data-dir' : flag} goes with --resume; for a new sweep put it in the file's base`,
        );
    plan = planSweep(readSweepFile(first), {
      logDir: opts.logDir as string | undefined,
      name: opts.name as string | undefined,
      backend,
    });
    runsToDo = plan.runs.length;
  }
  const jobs =
    (opts.jobs as number | undefined) ??
    (await defaultJobs(backend ?? plan.runs[0]?.settings.backend ?? 'auto', runsToDo));
  const stop = interrupts(() => reporter);
  let result: SweepPlan;
  try {
    const options = { reporter, signal: stop.signal, jobs, ...processes };
    result = opts.resume
      ? await resumeSweep(plan.dir, resumeOverrides(opts), options)
      : await runSweep(plan, options);
  } finally {
    reporter.close();
    stop.dispose();
  }
  if (opts.json)
    process.stdout.write(
      `${JSON.stringify({ type: 'sweep', sweepId: result.sweepId, dir: result.dir, status: result.status, runs: result.runs.map(({ settings: _s, ...r }) => r), groups: result.groups })}\n`,
    );
  else {
    process.stdout.write(
      `\n${formatSweep(result)}\n\nlogs: ${result.dir} (summary: ${join(result.dir, SWEEP_FILE)})\n`,
    );
    if (result.status === 'interrupted')
      process.stdout.write(`status: interrupted (continue with: bmp-train sweep --resume ${result.dir})\n`);
  }
  process.exitCode = runExit(
    result.status === 'completed' ? 'completed' : result.status === 'diverged' ? 'diverged' : 'interrupted',
    stop,
  );
}

function resumeOverrides(opts: Opts): SweepResumeOverrides {
  const out: SweepResumeOverrides = {};
  if (opts.backend !== undefined) out.backend = opts.backend as BackendChoice;
  if (opts.epochs !== undefined) out.epochs = opts.epochs as number;
  if (opts.dataDir !== undefined) out.dataDir = String(opts.dataDir);
  return out;
}

/** `sweep <file> --queue`: enqueue every run, then follow them to the end (or return with --detach). */
async function queuedSweep(plan: SweepPlan, opts: Opts): Promise<void> {
  const target = redisTarget(typeof opts.queue === 'string' ? opts.queue : undefined);
  await checkServer(target);
  const prefix = (opts.queuePrefix as string | undefined) ?? DEFAULT_PREFIX;
  const queued = await enqueueSweep(plan, target, prefix);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(
    `queued ${plan.runs.length} run(s) of sweep ${plan.sweepId} on ${target.display} (prefix ${prefix}): ${plan.dir}`,
  );
  if (opts.detach) {
    out(
      `workers train them (bmp-train worker --log-dir <the same log dir>); see: bmp-train sweep status ${plan.dir}`,
    );
    return;
  }
  const stop = interrupts(() => null);
  let result: SweepPlan | null;
  try {
    result = await followSweep(plan, target, queued, { write: out, signal: stop.signal });
  } finally {
    stop.dispose();
  }
  if (result?.status === 'cancelled') {
    out(`the sweep was cancelled (bmp-train sweep cancel); see: bmp-train sweep status ${plan.dir}`);
    process.exitCode = EXIT.sigint;
    return;
  }
  if (result == null) {
    out(`stopped following; the runs go on on the workers: bmp-train sweep status ${plan.dir}`);
    process.exitCode = runExit('interrupted', stop);
    return;
  }
  out(`\n${formatSweep(result)}\n\nlogs: ${result.dir} (summary: ${join(result.dir, SWEEP_FILE)})`);
  const failed = result.runs.filter((r) => r.status === 'failed');
  for (const r of failed) process.stderr.write(`error: ${r.runName}: ${r.message ?? 'failed'}\n`);
  process.exitCode = failed.length
    ? exitOfFailure(failed[0].message)
    : runExit(result.status === 'diverged' ? 'diverged' : 'completed', stop);
}

/**
 * `sweep cancel` of a queued sweep: through the Redis of --queue, else BMP_REDIS_URL, else the server
 * stored in sweep.json when it has no password (a stored URL never holds one).
 */
async function cancelQueued(dir: string, opts: Opts): Promise<void> {
  const plan = await readSweepPlan(dir);
  const stored = plan.queue?.server;
  const url =
    typeof opts.queue === 'string'
      ? opts.queue
      : (process.env[REDIS_URL_ENV] ?? (stored && !stored.includes('***') ? stored : undefined));
  if (!url)
    throw new UsageError(
      `sweep cancel ${dir}: the sweep is queued on ${stored ?? 'a Redis server'}; give its URL with --queue <redis-url> (or set ${REDIS_URL_ENV})`,
    );
  const target = redisTarget(url);
  await checkServer(target);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(
    `cancelling sweep ${plan.sweepId} on ${target.display}: waiting runs leave the queue, running ones checkpoint`,
  );
  const { plan: done, outcome } = await cancelQueuedSweep(plan, target);
  out(
    `sweep ${done.sweepId}: cancelled (${outcome.removed.length} run(s) taken off the queue, ${outcome.stopped.length} stopped at a checkpoint, ${outcome.ended.length} had ended)`,
  );
  if (outcome.stillRunning.length)
    process.stderr.write(
      `warning: still running after the wait (their workers stop them at their next poll): ${outcome.stillRunning.join(', ')}\n`,
    );
  out(`continue it on this machine with: bmp-train sweep --resume ${done.dir}`);
}

/** A run job that failed for good carries its exit code in its reason (`exit N: ...`). */
function exitOfFailure(reason: string | undefined): number {
  const m = /^exit (\d+):/.exec(reason ?? '');
  return m ? Number(m[1]) : EXIT.internal;
}
