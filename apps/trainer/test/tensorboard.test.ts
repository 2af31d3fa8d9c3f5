import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTfRecords } from '@bmp/runlog';
import { describe, expect, it } from 'vitest';
import { setupBackend } from '../src/environment';
import { crc32c, readRunConfig } from '../src/runlog';
import { train } from '../src/train';
import { tempDir } from './helpers';

describe('log files of a run, read back through @bmp/runlog', () => {
  it('config.json validates, and the TensorBoard event file decodes with valid CRC-32C framing', async () => {
    // CRC-32C test vectors (RFC 3720 B.4), the checksum of every TFRecord frame
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    await setupBackend('cpu');
    const logDir = tempDir();
    await train({
      settings: {
        dataset: 'synthetic',
        imageShape: [6, 6, 1],
        syntheticCount: 100,
        model: 'mlp',
        width: 8,
        batchSize: 25,
        epochs: 2,
        optimizer: 'scale-amended',
        logDir,
        runName: 'tb',
        logEverySteps: 2,
        backend: 'cpu',
      },
    });
    const runDir = join(logDir, 'tb');
    const config = await readRunConfig(join(runDir, 'config.json'));
    expect(config).toMatchObject({
      runName: 'tb',
      optimizer: 'scale-amended',
      model: { name: 'mlp', width: 8 },
    });
    const file = readdirSync(runDir).find((f) => f.startsWith('events.out.tfevents.'))!;
    const { records, problem } = readTfRecords(new Uint8Array(readFileSync(join(runDir, file))));
    expect(problem).toBeUndefined();
    // file version + 4 step records (8 steps, every 2) + 2 epoch records
    expect(records).toHaveLength(7);
    const text = new TextDecoder('latin1').decode(records[records.length - 1]);
    for (const tag of ['train/loss', 'test/error', 'lr']) expect(text).toContain(tag);
  });
});
