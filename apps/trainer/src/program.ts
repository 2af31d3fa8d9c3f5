/**
 * bmp-train: the command line. Each command is a module of commands/ (its flags and its action); this
 * one assembles them, makes compare the default, and turns errors into one line and an exit code.
 */
import { Command } from 'commander';
import { addAnalyzeCommand, analyzeAction } from './commands/analyze-command';
import { addCompareCommand, compareAction } from './commands/compare-command';
import { explicitSettings, type Opts } from './commands/run-options';
import { addSweepCommand, sweepAction } from './commands/sweep-command';
import { addTrainCommand, trainAction } from './commands/train-command';
import { addWorkerCommand, workerAction } from './commands/worker-command';
import { PRESETS, type TrainSettings } from './config';
import { TRAINER_VERSION } from './environment';
import { debugEnabled, EXIT, reportError } from './errors';

export { EXIT };

export interface ProgramHooks {
  /** Replace the actions (tests: parse only). */
  train?: (cmd: Command, opts: Opts, explicit: Partial<TrainSettings>) => void | Promise<void>;
  compare?: (cmd: Command, opts: Opts, explicit: Partial<TrainSettings>) => void | Promise<void>;
  analyze?: (runDir: string, opts: Opts) => void | Promise<void>;
  writeOut?: (s: string) => void;
  writeErr?: (s: string) => void;
}

/** A hook in place of an action: it gets the parsed flags and the explicit settings. */
function hooked(
  hook: ProgramHooks['train'],
  action: (this: Command, opts: Opts) => Promise<void>,
): (this: Command, opts: Opts) => Promise<void> {
  if (!hook) return action;
  return async function (this: Command, opts: Opts) {
    await hook(this, opts, explicitSettings(this, opts));
  };
}

export function buildProgram(hooks: ProgramHooks = {}): Command {
  const program = new Command('bmp-train')
    .exitOverride()
    .configureOutput({
      writeOut: hooks.writeOut ?? ((s) => process.stdout.write(s)),
      writeErr: hooks.writeErr ?? ((s) => process.stderr.write(s)),
    })
    .description('Scale-amended SGD (Zhang, Chen, Liu, NeurIPS 2018) against momentum SGD, run for run')
    .version(TRAINER_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .option('--debug', 'print stack traces of errors (also BMP_DEBUG=1)')
    .configureHelp({ sortOptions: false, showGlobalOptions: false });
  addTrainCommand(program, hooked(hooks.train, trainAction)).addHelpText('after', presetHelp());
  addCompareCommand(program, hooked(hooks.compare, compareAction)).addHelpText('after', presetHelp());
  addSweepCommand(program, sweepAction);
  addWorkerCommand(program, workerAction);
  addAnalyzeCommand(program, hooks.analyze ? async (dir, opts) => hooks.analyze!(dir, opts) : analyzeAction);
  program
    .command('presets')
    .description('list the presets, with the values the paper does not give and that they assume')
    .action(() => {
      process.stdout.write(`${presetHelp()}\n`);
    });
  return program;
}

function presetHelp(): string {
  const lines = ['', 'Presets:'];
  for (const [name, p] of Object.entries(PRESETS)) {
    lines.push(`  ${name}: ${p.description}`);
    for (const [k, v] of Object.entries(p.assumed)) lines.push(`    assumed ${k}: ${v}`);
  }
  return lines.join('\n');
}

const PROGRAM_FLAGS = new Set(['-h', '--help', '-V', '--version']);

/**
 * compare is the default command: `bmp-train` and `bmp-train --epochs 1` run it (flags first means no
 * command was named); `bmp-train --help` and `--version` stay the program's. `--debug` may come first.
 */
export function withDefaultCommand(argv: readonly string[]): string[] {
  const out = [...argv];
  let i = 2;
  while (out[i] === '--debug') i++;
  if (i >= out.length || (out[i].startsWith('-') && !PROGRAM_FLAGS.has(out[i]))) out.splice(i, 0, 'compare');
  return out;
}

export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(withDefaultCommand(argv));
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      // commander has printed the message (help and version exit 0)
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    process.exitCode = reportError(e, (t) => process.stderr.write(t), debugEnabled(argv));
  }
}
