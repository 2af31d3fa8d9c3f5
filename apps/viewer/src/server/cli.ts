import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { startViewerServer } from './server';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected an integer 0-65535');
  return n;
}

/** `pnpm viewer -- --log-dir x` hands the script a literal `--` first: drop it so the flags are parsed. */
export function stripLeadingDashDash(args: string[]): string[] {
  return args[0] === '--' ? args.slice(1) : args;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command('bmp-viewer')
    .description('serves the bmp viewer on 127.0.0.1 for the runs in a log directory')
    .requiredOption('--log-dir <dir>', 'directory holding runs (as written by bmp-train --log-dir)')
    .option('--port <p>', 'port (0: any free port)', parsePort, 6007)
    .showHelpAfterError();
  program.parse(stripLeadingDashDash(argv.slice(2)), { from: 'user' });
  const opts = program.opts<{ logDir: string; port: number }>();
  // `pnpm viewer` runs in the repository root; a relative --log-dir means relative to where it was typed.
  const logDir = resolve(process.env.INIT_CWD ?? process.cwd(), opts.logDir);
  const staticDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');
  if (!existsSync(join(staticDir, 'index.html'))) {
    console.error(`bmp-viewer: the web app is not built (${staticDir}); run pnpm --filter @bmp/viewer build`);
    process.exit(1);
  }
  if (!existsSync(logDir))
    console.warn(`bmp-viewer: warning: --log-dir ${logDir} does not exist (yet); the page will say so`);
  const s = await startViewerServer({ logDir, staticDir, port: opts.port });
  console.log(`bmp-viewer: serving ${logDir}\n  open ${s.url}`);
  const stop = () => {
    void s.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
