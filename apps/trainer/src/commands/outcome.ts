/** What train and compare share at the process level: interrupts, and the exit code of a run's status. */
import { EXIT } from '../errors';
import { type Interrupts, watchInterrupts } from '../interrupts';
import type { Reporter } from '../progress';
import type { RunResult } from '../run';

export function interrupts(reporter: () => Reporter | null): Interrupts {
  return watchInterrupts((name) => {
    reporter()?.event({
      type: 'message',
      level: 'warn',
      text: `interrupted (${name}): saving a checkpoint at the next step (send it again to quit at once)`,
    });
  });
}

export function runExit(status: RunResult['status'], stop: Interrupts): number {
  if (status === 'completed') return EXIT.ok;
  if (status === 'diverged') return EXIT.diverged;
  return stop.exitCode() ?? EXIT.sigint;
}
