/** `bmp-train worker`: takes the runs of queued comparisons (`compare --queue`) from Redis and trains them. */
import type { Command } from 'commander';
import { DEFAULTS } from '../config';
import { createReporter, defaultMode } from '../progress';
import { DEFAULT_PREFIX } from '../queue/job-data';
import { checkServer, redisTarget } from '../queue/redis-url';
import { runWorker } from '../queue/worker';
import { resolveLogDir } from '../train';
import { ensureWritableDir } from '../writable';
import { interrupts } from './outcome';
import { positive, positiveInt } from './parsers';
import type { Opts } from './run-options';

/** The flags every queue command shares. */
export function addQueueOptions(cmd: Command): Command {
  return cmd
    .option(
      '--queue [redis-url]',
      'Redis server of the queue: redis://[user:password@]host[:port][/db], rediss:// for TLS (also BMP_REDIS_URL; password also BMP_REDIS_PASSWORD)',
    )
    .option(
      '--queue-prefix <prefix>',
      `BullMQ key prefix, to keep setups apart on one server (default ${DEFAULT_PREFIX})`,
    );
}

export function addWorkerCommand(
  program: Command,
  action: (this: Command, opts: Opts) => Promise<void>,
): Command {
  return addQueueOptions(
    program
      .command('worker')
      .description(
        'train the runs of queued comparisons (compare --queue) from a Redis queue; safe to kill: another worker resumes the run from its checkpoint',
      )
      .helpOption('-h, --help', 'show the flags of worker'),
  )
    .option(
      '--log-dir <dir>',
      'the directory the comparisons are in, shared with the coordinator (default runs/)',
    )
    .option('--concurrency <n>', 'runs at once in this process (default 1)', positiveInt)
    .option(
      '--lock-seconds <s>',
      "a silent worker's job goes to another worker after this long (BullMQ lock and stalled check, run-directory lease; default 30)",
      positive,
    )
    .option('--json', 'machine-readable progress: one JSON object per line on stdout')
    .action(action);
}

export async function workerAction(this: Command, opts: Opts): Promise<void> {
  const target = redisTarget(typeof opts.queue === 'string' ? opts.queue : undefined);
  const logDir = resolveLogDir((opts.logDir as string | undefined) ?? DEFAULTS.logDir);
  await ensureWritableDir(logDir, '--log-dir');
  await checkServer(target);
  const reporter = createReporter(
    defaultMode(Boolean(opts.json)) === 'tty' ? 'plain' : defaultMode(Boolean(opts.json)),
  );
  const stop = interrupts(() => reporter);
  try {
    process.exitCode = await runWorker({
      target,
      prefix: (opts.queuePrefix as string | undefined) ?? 'bmp',
      logDir,
      concurrency: (opts.concurrency as number | undefined) ?? 1,
      lockSeconds: (opts.lockSeconds as number | undefined) ?? 30,
      reporter,
      stop,
    });
  } finally {
    reporter.close();
    stop.dispose();
  }
}
