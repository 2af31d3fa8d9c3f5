/** `bmp-train compare` (the default command): both optimizers, run for run; `--resume` continues one. */

import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { type CompareResult, compare, compareInProcesses, formatTable, resumeCompare } from '../compare';
import { DEFAULTS, UsageError } from '../config';
import { EXIT } from '../errors';
import { createReporter, defaultMode, type Reporter } from '../progress';
import { queuedCompareAction } from './compare-queued';
import { defaultJobs, resumedBackend } from './default-jobs';
import { trainerCommand, viewerCommand } from './hints';
import { interrupts, runExit } from './outcome';
import { integer, positiveInt, positiveList, seedsOption } from './parsers';
import { addRunOptions, compareRequest, explicitSettings, type Opts } from './run-options';

export function addCompareCommand(
  program: Command,
  action: (this: Command, opts: Opts) => Promise<void>,
): Command {
  return addRunOptions(
    program
      .command('compare')
      .description(
        'both optimizers from the same initial weights over the same batches (the default: the main job)',
      )
      .helpOption('-h, --help', 'show the flags of compare'),
  )
    .option(
      '--lr-sgd <lrs>',
      'learning rate(s) of momentum SGD, comma-separated for a sweep (default 0.1)',
      positiveList,
    )
    .option(
      '--lr-scale-amended <lrs>',
      'learning rate(s) of scale-amended SGD, comma-separated for a sweep (default 0.02)',
      positiveList,
    )
    .option(
      '--seed <n>',
      `seed of the comparison when --seeds is not given (default ${DEFAULTS.seed})`,
      integer,
    )
    .option('--seeds <n|list>', 'number of seeds (3 = seeds 0,1,2) or a comma-separated list', seedsOption)
    .option(
      '--jobs <n>',
      'runs at once, each in its own process (default: 2 on 2+ cores for CPU backends, 1 on a GPU: one job per GPU; 1 runs in this process)',
      positiveInt,
    )
    .option(
      '--resume <compare-dir>',
      'continue an interrupted comparison: finished runs are skipped, the others resume from their checkpoint or start (flags such as a larger --epochs apply to every run)',
    )
    .option(
      '--queue [redis-url]',
      'enqueue the runs on Redis for `bmp-train worker`s sharing --log-dir, and follow them (URL: redis://[user:password@]host[:port][/db], or BMP_REDIS_URL)',
    )
    .option('--queue-prefix <prefix>', 'with --queue: BullMQ key prefix (default bmp)')
    .option('--detach', 'with --queue: return once the runs are enqueued')
    .option('--follow <compare-dir>', 'with --queue: follow a queued comparison until its summary is written')
    .action(action);
}

export async function compareAction(this: Command, opts: Opts): Promise<void> {
  if (opts.queue !== undefined || opts.follow !== undefined) return queuedCompareAction(this, opts);
  for (const flag of ['detach', 'queuePrefix'] as const)
    if (opts[flag] !== undefined)
      throw new UsageError(`--${flag === 'detach' ? 'detach' : 'queue-prefix'} goes with --queue`);
  const reporter = createReporter(defaultMode(Boolean(opts.json)));
  const stop = interrupts(() => reporter);
  let result: CompareResult;
  try {
    result = await runComparison(this, opts, reporter, stop.signal);
  } finally {
    reporter.close();
    stop.dispose();
  }
  if (opts.json)
    process.stdout.write(
      `${JSON.stringify({ type: 'compare', compareId: result.compareId, dir: result.dir, status: result.status, summary: result.summary, checks: result.checks })}\n`,
    );
  else process.stdout.write(`${resultText(result)}\n`);
  if (result.checks.some((c) => !c.initWeightsMatch || !c.orderHashesMatch)) {
    process.stderr.write(
      'error: the runs of a seed did not start from the same weights or see the same batches\n',
    );
    process.exitCode = EXIT.internal;
  } else process.exitCode = runExit(result.status, stop);
}

async function runComparison(
  cmd: Command,
  opts: Opts,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<CompareResult> {
  const explicit = explicitSettings(cmd, opts);
  const processes = { cli: process.argv[1], execArgv: process.execArgv };
  if (opts.resume) {
    for (const flag of ['lrSgd', 'lrScaleAmended', 'seeds', 'preset'])
      if (opts[flag] !== undefined)
        throw new UsageError(
          `compare --resume: --${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} cannot change a stored comparison`,
        );
    const backend = await resumedBackend(String(opts.resume), explicit.backend);
    const jobs = (opts.jobs as number | undefined) ?? (await defaultJobs(backend, 2));
    return resumeCompare({
      dir: String(opts.resume),
      settings: explicit,
      reporter,
      signal,
      jobs,
      ...processes,
    });
  }
  const common = { ...compareRequest(explicit, opts), reporter, signal };
  const { lrs } = common;
  const seeds = opts.seeds as number[] | undefined;
  const runs = (seeds?.length ?? 1) * ((lrs.sgd?.length ?? 1) + (lrs['scale-amended']?.length ?? 1));
  const jobs = (opts.jobs as number | undefined) ?? (await defaultJobs(explicit.backend ?? 'auto', runs));
  return jobs > 1 ? compareInProcesses({ ...common, jobs, ...processes }) : compare(common);
}

function resultText(result: CompareResult): string {
  const out: string[] = ['', formatTable(result), ''];
  for (const c of result.checks)
    out.push(
      `seed ${c.seed}: initial weights ${c.initWeightsMatch ? 'identical across runs' : 'DIFFER across runs'} (hash ${[...new Set(c.initWeightsHashes)].join(', ')}); ` +
        `batch order ${c.orderHashesMatch ? 'identical in every epoch' : 'DIFFERS'}`,
    );
  out.push(
    '',
    `logs: ${result.dir}`,
    `  per run: config.json, metrics.jsonl, TensorBoard events, checkpoints/; summary: ${join(result.dir, 'compare.json')}`,
    `  TensorBoard: tensorboard --logdir ${result.dir}`,
    `  viewer: ${viewerCommand(dirname(result.dir))}`,
    `  local Hessians of a run: ${trainerCommand(`analyze ${join(result.dir, '<run>')}`)}`,
  );
  if (result.status !== 'completed')
    out.push(
      `status: ${result.status}${result.status === 'interrupted' ? ` (continue with: bmp-train compare --resume ${result.dir})` : ''}`,
    );
  return out.join('\n');
}
