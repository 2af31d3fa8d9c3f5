/**
 * Checkpoints: `<run>/checkpoints/<name>/` with model.safetensors (weights + BN statistics), optimizer.safetensors
 * (iter and slots), state.json (schedule, position in the data order, epoch accumulators, RNG seeds), and
 * `<run>/checkpoints/latest.json` naming the newest complete one. A checkpoint is written into a hidden
 * temporary directory, flushed, renamed into place, and only then does latest.json (written atomically)
 * point to it: a crash at any moment leaves the previous checkpoint intact and referenced.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { decodeWeightsFile, encodeWeightsFile } from '@bmp/models';
import { readJson, writeJsonAtomic } from './runlog';
import { tf } from './tf';

export const CHECKPOINT_VERSION = 1;

export interface EpochAccumulators {
  lossSum: number;
  correct: number;
  seen: number;
  trainSeconds: number;
}

export interface CheckpointState {
  version: number;
  /** Epoch in progress (or the next one when batch === 0). */
  epoch: number;
  /** Next batch of `epoch` to train on. */
  batch: number;
  globalStep: number;
  accumulators: EpochAccumulators;
  schedule: unknown;
  learningRate: number;
  /** Byte length of metrics.jsonl when the checkpoint was taken (resume truncates to it). */
  metricsBytes: number;
  /** Every random choice derives from these seeds and the position (epoch, batch, image index). */
  rng: { seed: number; dataSeed: number; generator: string };
  orderHash: string | null;
  optimizerTensors: Array<{ name: string; dtype: string; shape: number[]; prefixed: boolean }>;
  modelPrefix: string;
  createdAt: string;
}

export interface CheckpointPayload {
  modelBytes: Uint8Array;
  optimizerWeights: Array<{ name: string; tensor: tf.Tensor }>;
  state: Omit<CheckpointState, 'optimizerTensors' | 'version' | 'createdAt'>;
}

/** Test hook: called between the stages of a write; throwing simulates a crash there. */
export type FaultHook = (stage: 'model' | 'optimizer' | 'state' | 'rename' | 'latest') => void;

async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  const h = await fs.open(file, 'wx');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

function relName(name: string, prefix: string): string {
  return name.startsWith(`${prefix}/`) ? name.slice(prefix.length + 1) : name;
}

export async function writeCheckpoint(
  runDir: string,
  payload: CheckpointPayload,
  keep: number,
  fault?: FaultHook,
): Promise<string> {
  const root = join(runDir, 'checkpoints');
  await fs.mkdir(root, { recursive: true });
  const name = `epoch-${String(payload.state.epoch).padStart(4, '0')}-batch-${String(payload.state.batch).padStart(6, '0')}`;
  const tmp = join(root, `.tmp-${name}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp);
  try {
    await writeSynced(join(tmp, 'model.safetensors'), payload.modelBytes);
    fault?.('model');
    const prefix = payload.state.modelPrefix;
    const tensors = payload.optimizerWeights.map(({ name: n, tensor }) => ({
      name: relName(n, prefix),
      prefixed: n.startsWith(`${prefix}/`),
      shape: tensor.shape.slice(),
      values: Float32Array.from(tensor.dataSync()),
      dtype: tensor.dtype,
    }));
    await writeSynced(
      join(tmp, 'optimizer.safetensors'),
      encodeWeightsFile(tensors, { format: 'bmp-trainer-optimizer', version: '1' }),
    );
    fault?.('optimizer');
    const state: CheckpointState = {
      version: CHECKPOINT_VERSION,
      ...payload.state,
      optimizerTensors: tensors.map(({ name: n, dtype, shape, prefixed }) => ({
        name: n,
        dtype,
        shape,
        prefixed,
      })),
      createdAt: new Date().toISOString(),
    };
    await writeSynced(join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
    fault?.('state');
    const final = join(root, name);
    if (existsSync(final)) await fs.rm(final, { recursive: true, force: true });
    await fs.rename(tmp, final);
    fault?.('rename');
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  fault?.('latest');
  await writeJsonAtomic(join(root, 'latest.json'), {
    checkpoint: name,
    epoch: payload.state.epoch,
    batch: payload.state.batch,
    step: payload.state.globalStep,
  });
  await prune(root, keep, name);
  return join(root, name);
}

async function prune(root: string, keep: number, newest: string): Promise<void> {
  const all = (await fs.readdir(root)).filter((n) => n.startsWith('epoch-')).sort();
  const old = all.filter((n) => n !== newest).slice(0, Math.max(0, all.length - Math.max(1, keep)));
  for (const n of old) await fs.rm(join(root, n), { recursive: true, force: true });
}

export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  modelBytes: Uint8Array;
  /** Optimizer tensors with their names re-prefixed for `modelPrefix`; the caller disposes them. */
  optimizerWeights(modelPrefix: string): Array<{ name: string; tensor: tf.Tensor }>;
}

export async function latestCheckpoint(runDir: string): Promise<string | null> {
  const file = join(runDir, 'checkpoints', 'latest.json');
  if (!existsSync(file)) return null;
  const { checkpoint } = await readJson<{ checkpoint: string }>(file);
  return join(runDir, 'checkpoints', checkpoint);
}

export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const state = await readJson<CheckpointState>(join(dir, 'state.json'));
  if (state.version !== CHECKPOINT_VERSION)
    throw new Error(`${dir}: unsupported checkpoint version ${state.version}`);
  const modelBytes = new Uint8Array(await fs.readFile(join(dir, 'model.safetensors')));
  const opt = decodeWeightsFile(
    new Uint8Array(await fs.readFile(join(dir, 'optimizer.safetensors'))),
    join(dir, 'optimizer.safetensors'),
  );
  return {
    dir,
    state,
    modelBytes,
    optimizerWeights(prefix) {
      return state.optimizerTensors.map(({ name, dtype, shape, prefixed }) => {
        const t = opt.tensors.get(name);
        if (!t) throw new Error(`${dir}: optimizer tensor '${name}' is missing`);
        const full = prefixed ? `${prefix}/${name}` : name;
        return { name: full, tensor: tf.tensor(t.values, shape, dtype as tf.DataType) };
      });
    },
  };
}
