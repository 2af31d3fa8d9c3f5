/** `bmp-train train`: one run (also a comparison's child run, through the hidden --compare-* flags). */

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Command, Option } from 'commander';
import { overridableSettings, plannedRun } from '../compare';
import { DEFAULTS, OPTIMIZERS, UsageError } from '../config';
import { createReporter, defaultMode, type Reporter } from '../progress';
import type { RunResult } from '../run';
import { readSweepPlan } from '../sweep-plan';
import { train } from '../train';
import { viewerCommand } from './hints';
import { interrupts, runExit } from './outcome';
import { integer, positive } from './parsers';
import { addRunOptions, explicitSettings, type Opts } from './run-options';

export function addTrainCommand(
  program: Command,
  action: (this: Command, opts: Opts) => Promise<void>,
): Command {
  return addRunOptions(
    program
      .command('train')
      .description('one training run')
      .helpOption('-h, --help', 'show the flags of train'),
  )
    .addOption(
      new Option('--optimizer <id>', `optimizer (default ${DEFAULTS.optimizer})`).choices(OPTIMIZERS),
    )
    .option(
      '--lr <lr>',
      "learning rate (default 0.1 for sgd, 0.02 for scale-amended; the preset's with --preset)",
      positive,
    )
    .option(
      '--seed <n>',
      `seed of initialisation, order and augmentation (default ${DEFAULTS.seed})`,
      integer,
    )
    .option(
      '--resume <run-dir>',
      'continue the run stored in that directory (flags such as a larger --epochs override it)',
    )
    .addOption(new Option('--compare-dir <dir>').hideHelp())
    .addOption(new Option('--compare-run <name>').hideHelp())
    .addOption(new Option('--compare-resume').hideHelp())
    .addOption(new Option('--sweep-dir <dir>').hideHelp())
    .addOption(new Option('--sweep-run <name>').hideHelp())
    .action(action);
}

export async function trainAction(this: Command, opts: Opts): Promise<void> {
  const reporter = createReporter(defaultMode(Boolean(opts.json)));
  const stop = interrupts(() => reporter);
  try {
    const result = await runFromFlags(this, opts, reporter, stop.signal);
    reporter.close();
    if (!opts.json) printResult(result);
    process.exitCode = runExit(result.status, stop);
  } finally {
    reporter.close();
    stop.dispose();
  }
}

async function runFromFlags(
  cmd: Command,
  opts: Opts,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<RunResult> {
  const preset = opts.preset as string | undefined;
  if (opts.sweepDir || opts.sweepRun) return sweepRun(opts, reporter, signal);
  if (!opts.compareDir && !opts.compareRun) {
    const settings = explicitSettings(cmd, opts);
    return train({ resume: opts.resume as string | undefined, preset, settings, reporter, signal });
  }
  if (!opts.compareDir || !opts.compareRun)
    throw new UsageError('--compare-dir and --compare-run go together');
  const { plan, run } = await plannedRun(String(opts.compareDir), String(opts.compareRun));
  const runDir = join(String(opts.compareDir), run.runName);
  // compare --resume: continue the run from its checkpoint when it has started, else start it
  return opts.compareResume && existsSync(join(runDir, 'config.json'))
    ? train({ resume: runDir, settings: overridableSettings(run.settings), reporter, signal })
    : train({ settings: run.settings, compareId: plan.compareId, reporter, signal });
}

/** A sweep's run (a child of `sweep`): resumed from its checkpoint when it has started, else started. */
async function sweepRun(opts: Opts, reporter: Reporter, signal: AbortSignal): Promise<RunResult> {
  if (!opts.sweepDir || !opts.sweepRun) throw new UsageError('--sweep-dir and --sweep-run go together');
  const plan = await readSweepPlan(String(opts.sweepDir));
  const run = plan.runs.find((r) => r.runName === opts.sweepRun);
  if (!run) throw new UsageError(`--sweep-run: no run '${opts.sweepRun}' in ${opts.sweepDir}/sweep.json`);
  const runDir = join(plan.dir, run.runName);
  return existsSync(join(runDir, 'config.json'))
    ? train({ resume: runDir, settings: overridableSettings(run.settings), reporter, signal })
    : train({ settings: run.settings, compareId: plan.sweepId, reporter, signal });
}

function printResult(result: RunResult): void {
  const last = result.epochs[result.epochs.length - 1];
  const stream = result.status === 'completed' ? process.stdout : process.stderr;
  if (result.status !== 'completed') stream.write(`${result.message}\n`);
  if (last?.testError !== undefined)
    stream.write(
      `final test error ${(100 * last.testError).toFixed(2)}%, best ${(100 * (result.bestTestError ?? 0)).toFixed(2)}%\n`,
    );
  stream.write(
    `logs: ${result.runDir} (config.json, metrics.jsonl, TensorBoard events: tensorboard --logdir ${result.runDir}, checkpoints/)\n` +
      `viewer: ${viewerCommand(dirname(result.runDir))}\n`,
  );
}
