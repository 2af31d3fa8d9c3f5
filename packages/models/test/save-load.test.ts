import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, useCpuBackend } from '@bmp/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWeightsFile, encodeWeightsFile, mlp, paperVgg, residualMlp, WeightsFileError } from '../src';

let dir: string;
beforeAll(async () => {
  await useCpuBackend();
  dir = await mkdtemp(join(tmpdir(), 'bmp-models-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function trainedVgg(name: string, seed: number) {
  const m = paperVgg({
    depth: 11,
    numClasses: 5,
    widthMultiplier: 0.0625,
    inputShape: [28, 28, 1],
    seed,
    name,
  });
  // one training pass so that the running statistics differ from their initial values
  tf.tidy(() => {
    m.apply(tf.randomNormal([3, 28, 28, 1], 0.3, 1.5, 'float32', seed), { training: true });
  });
  return m;
}

describe('save / load', () => {
  it('round trip restores weights and running statistics: bit-identical predictions', async () => {
    const a = trainedVgg('a', 1);
    const b = trainedVgg('b', 2);
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 7);
    const pa = a.apply(x).dataSync();
    expect(Array.from(b.apply(x).dataSync())).not.toEqual(Array.from(pa));
    const file = join(dir, 'a.safetensors');
    await a.save(file);
    await b.load(file);
    expect(Array.from(b.apply(x).dataSync())).toEqual(Array.from(pa));
    expect(Array.from(b.apply(x, { training: true, updateStatistics: false }).dataSync())).toEqual(
      Array.from(a.apply(x, { training: true, updateStatistics: false }).dataSync()),
    );
    for (const [name, v] of a.namedVariables()) {
      expect(Array.from(b.namedVariables().get(name)!.dataSync()), name).toEqual(Array.from(v.dataSync()));
    }
    // no temporary file is left behind
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    x.dispose();
    a.dispose();
    b.dispose();
  });

  it('the file is safetensors: 8-byte header length, JSON header with F32 tensors, raw data', async () => {
    const m = mlp({ sizes: [3, 4, 2], batchNorm: true, name: 'small', seed: 4 });
    const bytes = m.serialize();
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__.format).toBe('bmp-models');
    expect(header.__metadata__.model).toBe('small');
    expect(JSON.parse(header.__metadata__.architecture).architecture).toBe('mlp');
    expect(header['dense1/kernel']).toEqual({ dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] });
    expect(header['bn1/running_var']).toEqual({ dtype: 'F32', shape: [4], data_offsets: [64, 80] });
    const values = new Float32Array(bytes.slice(8 + n + 64, 8 + n + 80).buffer);
    expect(Array.from(values)).toEqual([1, 1, 1, 1]);
    expect(bytes.length).toBe(8 + n + 4 * (12 + 4 + 4 + 8));
    m.dispose();
  });

  it('corrupted, truncated or foreign files are rejected with errors naming the problem', () => {
    const m = mlp({ sizes: [3, 4, 2], batchNorm: true, seed: 4 });
    const good = m.serialize();
    const before = Array.from(m.trainableVariables[0].dataSync());
    const flipped = good.slice();
    flipped[flipped.length - 3] ^= 0x40;
    expect(() => m.loadBytes(flipped)).toThrow(/checksum mismatch.*corrupted/);
    expect(() => m.loadBytes(good.slice(0, good.length - 4))).toThrow(
      /tensor '.*': data ends at byte|trailing|truncated/,
    );
    expect(() => m.loadBytes(good.slice(0, 5))).toThrow(/too short/);
    const garbage = new Uint8Array(64).fill(0x7b);
    expect(() => m.loadBytes(garbage)).toThrow(WeightsFileError);
    const notOurs = encodeWeightsFile([], {});
    notOurs[12] = 0x20; // damage the JSON header
    expect(() => m.loadBytes(notOurs)).toThrow(/not valid JSON|metadata/);
    expect(Array.from(m.trainableVariables[0].dataSync())).toEqual(before); // nothing was assigned
    m.dispose();
  });

  it('mismatched architectures name the tensor at fault and change nothing', () => {
    const a = mlp({ sizes: [3, 4, 2], batchNorm: true, seed: 1 });
    const wider = mlp({ sizes: [3, 5, 2], batchNorm: true, seed: 2 });
    const noBn = mlp({ sizes: [3, 4, 2], seed: 3 });
    const before = Array.from(wider.trainableVariables[0].dataSync());
    expect(() => wider.loadBytes(a.serialize())).toThrow(
      /tensor 'dense1\/kernel' has shape \[3,4\] in the file, model expects \[3,5\]/,
    );
    expect(Array.from(wider.trainableVariables[0].dataSync())).toEqual(before);
    expect(() => noBn.loadBytes(a.serialize())).toThrow(/unexpected tensor 'bn1\/running_mean'/);
    expect(() => a.loadBytes(noBn.serialize())).toThrow(/missing tensor 'bn1\/running_mean'/);
    const res = residualMlp({ inputSize: 3, width: 4, depth: 1, numClasses: 2, skip: 'identity' });
    expect(() => res.loadBytes(a.serialize())).toThrow(/missing tensor 'stem\/kernel'/);
    for (const m of [a, wider, noBn, res]) m.dispose();
  });

  it('decodeWeightsFile checks offsets and shapes against each other', () => {
    const bytes = encodeWeightsFile([{ name: 'w', shape: [2], values: new Float32Array([1, 2]) }], {});
    const decoded = decodeWeightsFile(bytes);
    expect(Array.from(decoded.tensors.get('w')!.values)).toEqual([1, 2]);
    // rewrite the header with a wrong shape, same length
    const bad = bytes.slice();
    const at = Buffer.from(bad).indexOf('"shape":[2]');
    bad[at + '"shape":['.length] = '3'.charCodeAt(0);
    expect(() => decodeWeightsFile(bad)).toThrow(
      /tensor 'w': data_offsets \[0, 8\] hold 2 floats, shape \[3\] needs 3/,
    );
  });

  it('writes atomically: a failed save leaves the previous file intact and no temporary file', async () => {
    const m = mlp({ sizes: [3, 4, 2], seed: 9 });
    const file = join(dir, 'atomic.safetensors');
    await writeFile(file, 'previous contents');
    await m.save(file);
    const saved = await readFile(file);
    expect(saved.length).toBe(m.serialize().length);
    m.dispose();
    await expect(m.save(file)).rejects.toThrow(/disposed/);
    await expect(m.save(join(dir, 'no-such-dir', 'x.safetensors'))).rejects.toThrow();
    expect(Buffer.compare(await readFile(file), saved)).toBe(0);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it("saves through @bmp/runlog's atomic writer: a missing parent directory is created", async () => {
    const m = mlp({ sizes: [3, 4, 2], seed: 9 });
    const nested = join(dir, 'new-dir', 'deeper');
    await m.save(join(nested, 'm.safetensors'));
    expect(Buffer.compare(await readFile(join(nested, 'm.safetensors')), Buffer.from(m.serialize()))).toBe(0);
    expect(await readdir(nested)).toEqual(['m.safetensors']);
    m.dispose();
  });
});
