/**
 * Ctrl-C (SIGINT) and SIGTERM (what schedulers, Docker and Kubernetes send) stop a run the same way: a
 * checkpoint at the next batch boundary, an interrupt event, and the exit code 128 + the signal's number.
 * A second signal quits at once; one that comes within a second of the first is taken as the same stop
 * (a terminal and a wrapper such as pnpm may both deliver one Ctrl-C).
 */
import { EXIT } from './errors';

const SIGNALS = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm } as const;
type Handled = keyof typeof SIGNALS;

export interface Interrupts {
  /** Aborted at the first signal; its `reason` is the signal's name. */
  signal: AbortSignal;
  /** The exit code of the signal received (130, 143), or null. */
  exitCode(): number | null;
  /** Removes the handlers (the process then dies of a signal as usual). */
  dispose(): void;
}

export function watchInterrupts(onFirst: (name: Handled) => void): Interrupts {
  const controller = new AbortController();
  let first: { name: Handled; at: number } | null = null;
  const handlers = (Object.keys(SIGNALS) as Handled[]).map((name) => {
    const handler = () => {
      if (first == null) {
        first = { name, at: Date.now() };
        onFirst(name);
        controller.abort(name);
      } else if (Date.now() - first.at > 1000) {
        process.exit(SIGNALS[name]);
      }
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    exitCode: () => (first ? SIGNALS[first.name] : null),
    dispose: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
