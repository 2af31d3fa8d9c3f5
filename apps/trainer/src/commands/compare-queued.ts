/**
 * `compare --queue`: the comparison planned here, its runs trained by `bmp-train worker`s (on this machine
 * or others sharing --log-dir), followed until a worker has written its summary; `--detach` returns
 * after enqueueing, `--follow <compare-dir>` follows a queued comparison again.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { type CompareResult, formatTable } from '../compare';
import { resumePlan, runState } from '../compare-resume';
import { EXIT, UsageError } from '../errors';
import type { CompareJobResult } from '../queue/compare-job';
import { enqueueCompare, enqueuePlan, type QueuedCompare } from '../queue/enqueue';
import { followCompare } from '../queue/follow';
import { DEFAULT_PREFIX } from '../queue/job-data';
import { checkServer, type RedisTarget, redisTarget } from '../queue/redis-url';
import { readJson } from '../runlog';
import { interrupts } from './outcome';
import { compareRequest, explicitSettings, type Opts } from './run-options';

export async function queuedCompareAction(cmd: Command, opts: Opts): Promise<void> {
  if (opts.jobs !== undefined)
    throw new UsageError('--jobs with --queue: the workers decide (worker --concurrency)');
  const target = redisTarget(typeof opts.queue === 'string' ? opts.queue : undefined);
  await checkServer(target);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  let queued: QueuedCompare;
  let dir: string;
  if (opts.follow) {
    dir = String(opts.follow);
    const file = join(dir, 'compare.json');
    if (!existsSync(file)) throw new UsageError(`--follow ${dir}: no compare.json there`);
    const stored = await readJson<{ queue?: QueuedCompare }>(file);
    if (!stored.queue)
      throw new UsageError(`--follow ${dir}: not a queued comparison (compare.json has no 'queue')`);
    queued = stored.queue;
  } else if (opts.resume) {
    const r = await enqueueResume(String(opts.resume), cmd, opts, target);
    queued = r.queue;
    dir = r.plan.dir;
    out(
      `queued ${Object.keys(queued.runJobs).length} unfinished run(s) of ${r.plan.compareId} on ${target.display} (prefix ${queued.prefix}): ${dir}`,
    );
    if (opts.detach) {
      out(hint(target, queued, dir));
      return;
    }
  } else {
    const explicit = explicitSettings(cmd, opts);
    const r = await enqueueCompare(
      compareRequest(explicit, opts),
      target,
      (opts.queuePrefix as string | undefined) ?? DEFAULT_PREFIX,
    );
    queued = r.queue;
    dir = r.plan.dir;
    out(
      `queued ${r.plan.runs.length} runs of ${r.plan.compareId} on ${target.display} (prefix ${queued.prefix}): ${dir}`,
    );
    if (opts.detach) {
      out(hint(target, queued, dir));
      return;
    }
  }
  await follow(target, queued, dir, out);
}

/** compare --resume --queue: the stored plan (with the overridable flags), its unfinished runs enqueued. */
async function enqueueResume(dir: string, cmd: Command, opts: Opts, target: RedisTarget) {
  for (const flag of ['lrSgd', 'lrScaleAmended', 'seeds', 'preset'])
    if (opts[flag] !== undefined)
      throw new UsageError(
        `compare --resume: --${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} cannot change a stored comparison`,
      );
  const plan = await resumePlan(dir, explicitSettings(cmd, opts));
  const todo = [];
  for (const run of plan.runs) {
    const state = await runState(join(plan.dir, run.runName), run.settings.epochs);
    if (state !== 'finished' && state !== 'diverged') todo.push(run);
  }
  return enqueuePlan(plan, target, (opts.queuePrefix as string | undefined) ?? DEFAULT_PREFIX, todo);
}

function hint(target: RedisTarget, queued: QueuedCompare, dir: string): string {
  const prefix = queued.prefix === DEFAULT_PREFIX ? '' : ` --queue-prefix ${queued.prefix}`;
  return [
    `workers (sharing the log dir): bmp-train worker --queue ${target.display}${prefix} --log-dir ${dirname(dir)}`,
    `follow it: bmp-train compare --queue ${target.display}${prefix} --follow ${dir}`,
    `a worker writes the summary into ${join(dir, 'compare.json')} when every run has ended`,
  ].join('\n');
}

async function follow(target: RedisTarget, queued: QueuedCompare, dir: string, out: (s: string) => void) {
  const stop = interrupts(() => null);
  let result: CompareJobResult | null;
  try {
    result = await followCompare(target, queued, { write: out, signal: stop.signal });
  } finally {
    stop.dispose();
  }
  if (result == null) {
    out(`stopped following; the runs go on in the queue\n${hint(target, queued, dir)}`);
    process.exitCode = stop.exitCode() ?? EXIT.sigint;
    return;
  }
  if (result.status === 'failed') {
    const kept = existsSync(join(dir, 'compare.json'));
    process.stderr.write(
      `error: ${result.failures.length} of ${Object.keys(queued.runJobs).length} run(s) of the comparison in ${dir} failed:\n` +
        result.failures
          .map(
            (f) =>
              `  ${f.runName} (exit ${f.exitCode}): ${f.message}; logs: ${f.runDir ?? 'none (it did not start)'}\n`,
          )
          .join('') +
        (kept
          ? `fix the cause, then continue with: bmp-train compare --resume ${dir}\n`
          : `nothing was trained, and nothing was left in ${dir}\n`),
    );
    out(`status: failed`);
    process.exitCode = result.failures[0]?.exitCode ?? EXIT.internal;
    return;
  }
  const stored = await readJson<CompareResult>(join(dir, 'compare.json'));
  out(['', formatTable(stored), ''].join('\n'));
  for (const c of stored.checks ?? [])
    out(
      `seed ${c.seed}: initial weights ${c.initWeightsMatch ? 'identical across runs' : 'DIFFER across runs'} (hash ${[...new Set(c.initWeightsHashes)].join(', ')}); ` +
        `batch order ${c.orderHashesMatch ? 'identical in every epoch' : 'DIFFERS'}`,
    );
  out(`\nlogs: ${dir}\nstatus: ${result.status}`);
  if ((stored.checks ?? []).some((c) => !c.initWeightsMatch || !c.orderHashesMatch)) {
    process.stderr.write(
      'error: the runs of a seed did not start from the same weights or see the same batches\n',
    );
    process.exitCode = EXIT.internal;
  } else
    process.exitCode =
      result.status === 'completed' ? EXIT.ok : result.status === 'diverged' ? EXIT.diverged : EXIT.sigint;
}
