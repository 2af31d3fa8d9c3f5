/**
 * Checkpoints: `<run>/checkpoints/<name>/` with model.safetensors (weights + BN statistics), optimizer.safetensors
 * (iter and slots), state.json (schedule, position in the data order, epoch accumulators, RNG seeds), and
 * `<run>/checkpoints/latest.json` naming the newest one (for people and tools). A checkpoint is written
 * into a hidden temporary directory, flushed, and renamed into place: a directory with a checkpoint's
 * name is complete, so a crash at any moment leaves the previous checkpoints intact, and resume finds
 * the newest by listing the directory (resume-point.ts), with or without latest.json.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeWeightsFile, encodeWeightsFile } from '@bmp/models';
import { RunDirError } from './errors';
import { stripModelPrefix } from './model';
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

export async function writeCheckpoint(
  runDir: string,
  payload: CheckpointPayload,
  keep: number,
  fault?: FaultHook,
): Promise<string> {
  const root = join(runDir, 'checkpoints');
  await fs.mkdir(root, { recursive: true });
  const name = checkpointName(payload.state.epoch, payload.state.batch);
  const tmp = join(root, `.tmp-${name}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp);
  try {
    await writeSynced(join(tmp, 'model.safetensors'), payload.modelBytes);
    fault?.('model');
    const prefix = payload.state.modelPrefix;
    const tensors = await Promise.all(
      payload.optimizerWeights.map(async ({ name: n, tensor }) => ({
        name: stripModelPrefix(n, prefix),
        prefixed: n.startsWith(`${prefix}/`),
        shape: tensor.shape.slice(),
        values: Float32Array.from(await tensor.data()),
        dtype: tensor.dtype,
      })),
    );
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
  const all = (await listCheckpoints(dirname(root))).filter((n) => n !== newest);
  for (const n of all.slice(Math.max(0, Math.max(1, keep) - 1)))
    await fs.rm(join(root, n), { recursive: true, force: true });
}

export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  modelBytes: Uint8Array;
  /** Optimizer tensors with their names re-prefixed for `modelPrefix`; the caller disposes them. */
  optimizerWeights(modelPrefix: string): Array<{ name: string; tensor: tf.Tensor }>;
}

const CHECKPOINT_NAME = /^epoch-(\d{4,})-batch-(\d{6,})$/;

/** Directory name of the checkpoint taken at (epoch, batch). */
export function checkpointName(epoch: number, batch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}-batch-${String(batch).padStart(6, '0')}`;
}

/** (epoch, batch) of a checkpoint directory name, or null for anything else. */
export function parseCheckpointName(name: string): { epoch: number; batch: number } | null {
  const m = CHECKPOINT_NAME.exec(name);
  return m ? { epoch: Number(m[1]), batch: Number(m[2]) } : null;
}

/**
 * The checkpoint directories of a run, newest first. A directory of that name is complete: it is
 * renamed into place only after all its files were written and flushed (temporary ones start with '.').
 */
export async function listCheckpoints(runDir: string): Promise<string[]> {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return [];
  const named = (await fs.readdir(root))
    .map((n) => ({ n, at: parseCheckpointName(n) }))
    .filter((e): e is { n: string; at: { epoch: number; batch: number } } => e.at != null);
  named.sort((a, b) => b.at.epoch - a.at.epoch || b.at.batch - a.at.batch);
  return named.map((e) => e.n);
}

/** The newest complete checkpoint directory of a run, or null (latest.json is not needed). */
export async function latestCheckpoint(runDir: string): Promise<string | null> {
  const [newest] = await listCheckpoints(runDir);
  return newest ? join(runDir, 'checkpoints', newest) : null;
}

/**
 * Reads and checks a checkpoint: state.json's fields, and both weights files' CRCs. Anything wrong is a
 * RunDirError naming the file.
 */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const stateFile = join(dir, 'state.json');
  const state = await readJson<CheckpointState>(stateFile);
  if (state?.version !== CHECKPOINT_VERSION)
    throw new RunDirError(`${stateFile}: unsupported checkpoint version ${state?.version}`);
  for (const k of ['epoch', 'batch', 'globalStep', 'metricsBytes'] as const)
    if (!Number.isInteger(state[k]) || state[k] < 0)
      throw new RunDirError(`${stateFile}: '${k}' must be an integer >= 0, got ${JSON.stringify(state[k])}`);
  if (!Array.isArray(state.optimizerTensors) || typeof state.learningRate !== 'number')
    throw new RunDirError(`${stateFile}: incomplete (no optimizerTensors or learningRate)`);
  const modelFile = join(dir, 'model.safetensors');
  const modelBytes = new Uint8Array(await fs.readFile(modelFile));
  decodeWeightsFile(modelBytes, modelFile); // checks the CRC before anything is loaded
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
        if (!t) throw new RunDirError(`${dir}: optimizer tensor '${name}' is missing`);
        const full = prefixed ? `${prefix}/${name}` : name;
        return { name: full, tensor: tf.tensor(t.values, shape, dtype as tf.DataType) };
      });
    },
  };
}
