import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeError, EXIT, reportError } from '../src/errors';
import { watchInterrupts } from '../src/interrupts';
import { withDefaultCommand } from '../src/program';

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: raw message, open '${path}'`), { code, path });
}

describe('errors by category, each with its exit code', () => {
  it.each([
    [Object.assign(new Error('bad'), { name: 'UsageError' }), 'usage', 2],
    [Object.assign(new Error('f: truncated'), { name: 'DatasetError' }), 'data', 4],
    [Object.assign(new Error('d: no images'), { name: 'FolderDatasetError' }), 'data', 4],
    [Object.assign(new Error('s.json: not valid JSON'), { name: 'RunDirError' }), 'run', 5],
    [Object.assign(new Error('m: crc mismatch'), { name: 'WeightsFileError' }), 'run', 5],
    [Object.assign(new Error('no backend'), { name: 'BackendUnavailableError' }), 'backend', 7],
    [errno('ENOSPC', '/runs/x/metrics.jsonl'), 'filesystem', 6],
    [new TypeError('x is undefined'), 'internal', 1],
  ])('%s -> %s (exit %i)', (e, category, code) => {
    const d = describeError(e);
    expect(d.category).toBe(category);
    expect(d.exitCode).toBe(code);
  });

  it('a file-system error names the path and the cause in words; an unexpected one asks for --debug', () => {
    expect(describeError(errno('ENOSPC', '/runs/x/metrics.jsonl')).message).toBe(
      '/runs/x/metrics.jsonl: no space left on device (ENOSPC)',
    );
    expect(describeError(new TypeError('x is undefined')).message).toBe(
      'x is undefined\n(unexpected: rerun with --debug for the stack trace, and report it if it persists)',
    );
  });

  it('prints one line, and the stack only with debug', () => {
    let out = '';
    const e = Object.assign(new Error('--data-dir /nope: no such directory'), { name: 'DataError' });
    expect(reportError(e, (s) => (out += s), false)).toBe(EXIT.data);
    expect(out).toBe('error: --data-dir /nope: no such directory\n');
    out = '';
    reportError(e, (s) => (out += s), true);
    expect(out).toMatch(/^error: --data-dir \/nope: no such directory\nDataError: .*\n\s+at /);
  });
});

describe('compare is the default command', () => {
  it.each([
    [[], ['compare']],
    [
      ['--epochs', '1'],
      ['compare', '--epochs', '1'],
    ],
    [
      ['--debug', '--epochs', '1'],
      ['--debug', 'compare', '--epochs', '1'],
    ],
    [
      ['train', '--epochs', '1'],
      ['train', '--epochs', '1'],
    ],
    [['--help'], ['--help']],
    [['-V'], ['-V']],
    [['frobnicate'], ['frobnicate']],
  ])('%j -> %j', (args, expected) => {
    expect(withDefaultCommand(['node', 'bmp-train', ...args])).toEqual(['node', 'bmp-train', ...expected]);
  });
});

describe('interrupts: SIGINT and SIGTERM', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('the first signal aborts (reason: its name, exit code 128 + its number); a second one a second later quits at once', () => {
    vi.useFakeTimers();
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const seen: string[] = [];
    const listeners = process.listenerCount('SIGTERM');
    const stop = watchInterrupts((name) => seen.push(name));
    try {
      process.emit('SIGTERM');
      expect(stop.signal.aborted).toBe(true);
      expect(stop.signal.reason).toBe('SIGTERM');
      expect(stop.exitCode()).toBe(143);
      // the same stop delivered twice (a terminal and a wrapper): not a second signal
      process.emit('SIGINT');
      expect(exit).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1500);
      process.emit('SIGINT');
      expect(exit).toHaveBeenCalledWith(130);
      expect(seen).toEqual(['SIGTERM']);
    } finally {
      stop.dispose();
    }
    expect(process.listenerCount('SIGTERM')).toBe(listeners);
  });
});
