import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, TINY_MLP, tempDir } from './helpers';

// A real full disk: a small tmpfs, filled up while the run trains. Mounting needs root (CI runs as root).
const root = process.getuid?.() === 0;
if (!root) console.warn('full-disk test skipped: mounting a tmpfs needs root');

const RUN = [...TINY_MLP, '--schedule', 'none', '--synthetic-count', '4000', '--epochs', '3'];

function finalModel(runDir: string): Buffer {
  const names = readdirSync(join(runDir, 'checkpoints')).filter((n) => n.startsWith('epoch-'));
  return readFileSync(join(runDir, 'checkpoints', names.sort().at(-1)!, 'model.safetensors'));
}

describe.skipIf(!root)('a full disk', () => {
  it('stops the run with one line naming the run (exit 6); after freeing space --resume gives the same bits', async () => {
    const mnt = tempDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    try {
      const ref = tempDir();
      const full = runCli(['train', ...RUN, '--log-dir', ref, '--run-name', 'full']);
      const filler = join(mnt, 'filler');
      let filled = false;
      const cut = await runCli(['train', ...RUN, '--log-dir', mnt, '--run-name', 'cut', '--json'], {
        onLine: (line) => {
          const e = JSON.parse(line);
          // in the second epoch, after the first checkpoint: take every byte that is left
          if (!filled && e.type === 'step' && e.epoch === 1 && e.batch === 2) {
            filled = true;
            const { bavail, bsize } = statfsSync(mnt);
            writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize)));
          }
          return undefined;
        },
      });
      expect(filled).toBe(true);
      expect(cut.code).toBe(6);
      expect(cut.stderr).toMatch(
        /^error: .*: no space left on device \(ENOSPC\) while training cut; the checkpoints it wrote are complete: once that is fixed, continue with --resume .*cut\n$/,
      );
      rmSync(filler);
      const resumed = await runCli(['train', '--resume', join(mnt, 'cut')]);
      expect(resumed.code, resumed.stderr).toBe(0);
      const reference = await full;
      expect(reference.code, reference.stderr).toBe(0);
      expect(Buffer.compare(finalModel(join(ref, 'full')), finalModel(join(mnt, 'cut')))).toBe(0);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
