import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, type OutputConfiguration } from 'commander';
import { isLoopbackAddress, isWildcardAddress } from './allowed-hosts';
import { HOST, startViewerServer } from './server';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected an integer 0-65535');
  return n;
}

/** `--host [::1]` is written as in a URL; listen wants `::1`. */
function parseHost(value: string): string {
  const host = value.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new InvalidArgumentError('expected an address');
  return host;
}

/** `pnpm viewer -- --log-dir x` hands the script a literal `--` first: drop it so the flags are parsed. */
export function stripLeadingDashDash(args: string[]): string[] {
  return args[0] === '--' ? args.slice(1) : args;
}

export interface CliOptions {
  logDir: string;
  port: number;
  host: string;
}

/**
 * Parses bmp-viewer's flags (`args`: without the node and script paths). A usage error (unknown
 * option, bad value, no --log-dir) is written with the help to `output` (stderr by default) and thrown
 * as a CommanderError with exitCode 2; --help is written to stdout and thrown with exitCode 0.
 */
export function parseArgs(args: string[], output?: OutputConfiguration): CliOptions {
  const program = new Command('bmp-viewer')
    .description('serves the bmp viewer for the runs in a log directory (on 127.0.0.1 unless --host)')
    .option('--log-dir <dir>', 'directory holding runs (as written by bmp-train --log-dir); required')
    .option('--port <p>', 'port (0: any free port)', parsePort, 6007)
    .option(
      '--host <addr>',
      'address to serve on; any but a loopback one exposes the runs to the network',
      parseHost,
      HOST,
    )
    .showHelpAfterError()
    .exitOverride((e) => {
      throw e.exitCode === 0 ? e : new CommanderError(2, e.code, e.message);
    });
  if (output) program.configureOutput(output);
  program.parse(stripLeadingDashDash(args), { from: 'user' });
  const opts = program.opts<Partial<CliOptions>>();
  // Checked here rather than with requiredOption: commander checks required options before unknown
  // ones, so `bmp-viewer --bogus` would be told that --log-dir is missing.
  if (opts.logDir === undefined)
    program.error("error: required option '--log-dir <dir>' not specified", {
      code: 'commander.missingMandatoryOptionValue',
    });
  return opts as CliOptions;
}

/** What bmp-viewer prints on stderr when it serves on `host`: null for a loopback address. */
export function exposureWarning(host: string, logDir: string): string | null {
  if (isLoopbackAddress(host)) return null;
  const who = isWildcardAddress(host)
    ? `anyone who can reach this machine (${host} is every network interface, and any Host header is accepted)`
    : `anyone who can reach ${host}`;
  return `bmp-viewer: warning: the run logs and checkpoints under ${logDir} become readable by ${who}`;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  let opts: CliOptions;
  try {
    opts = parseArgs(argv.slice(2));
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    throw e;
  }
  // `pnpm viewer` runs in the repository root; a relative --log-dir means relative to where it was typed.
  const logDir = resolve(process.env.INIT_CWD ?? process.cwd(), opts.logDir);
  const staticDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');
  if (!existsSync(join(staticDir, 'index.html'))) {
    console.error(`bmp-viewer: the web app is not built (${staticDir}); run pnpm --filter @bmp/viewer build`);
    process.exit(1);
  }
  if (!existsSync(logDir))
    console.warn(`bmp-viewer: warning: --log-dir ${logDir} does not exist (yet); the page will say so`);
  const s = await startViewerServer({ logDir, staticDir, port: opts.port, host: opts.host });
  const warning = exposureWarning(opts.host, logDir);
  if (warning) console.warn(warning);
  console.log(`bmp-viewer: serving ${logDir}\n  open ${s.url}`);
  const stop = () => {
    void s.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
