/** Rewinding metrics.jsonl to a checkpoint on resume. */
import { existsSync, promises as fs, statSync, truncateSync } from 'node:fs';
import type { EventInput } from './runlog';

/**
 * Truncates `file` to `bytes` (its length when the checkpoint was taken: the records after it are
 * redone) and returns the event records that were cut (interrupts, stops...), to be appended again so
 * that what happened to the run stays in its log.
 */
export async function rewindMetrics(file: string, bytes: number): Promise<EventInput[]> {
  if (!existsSync(file) || statSync(file).size <= bytes) return [];
  const tail = (await fs.readFile(file)).subarray(bytes).toString('utf8');
  truncateSync(file, bytes);
  return tail
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        const r = JSON.parse(l) as { type?: string };
        return r.type === 'event' ? [r as EventInput] : [];
      } catch {
        return [];
      }
    });
}
