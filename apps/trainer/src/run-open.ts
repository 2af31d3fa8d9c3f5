/**
 * Opening a run before its first step: a new run writes config.json (after checking that --log-dir is
 * writable and that the run does not exist yet); a resumed run finds its resume point (resume-point.ts),
 * loads the model, optimizer and schedule from it (re-planning a cosine schedule for a new --epochs),
 * and records the resume in config.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MomentumSGD, ScaleAmendedSGD } from '@bmp/optimizer';
import type { LoadedCheckpoint } from './checkpoint';
import type { TrainSettings } from './config';
import { RunDirError, UsageError } from './errors';
import { loadModelBytes, weightsHash } from './model';
import { findResumePoint } from './resume-point';
import { checkResumeEpochs, readStoredConfig, recordResume, writeNewRunConfig } from './run-config';
import type { RunInputs } from './run-types';
import type { ComputeDevice } from './runlog';
import { type Replan, restoreSchedule, type Schedule } from './schedule';
import { tf } from './tf';
import { ensureWritableDir } from './writable';

export interface OpenedRun {
  /** The settings in force (a re-planned cosine schedule no longer has a T_max of its own). */
  settings: TrainSettings;
  /** null: a new run, or a resumed run that had no checkpoint (it starts from its first step). */
  checkpoint: LoadedCheckpoint | null;
  initWeightsHash: string;
  replan: Replan | null;
}

export async function openRun(
  inp: RunInputs,
  opt: ScaleAmendedSGD | MomentumSGD,
  schedule: Schedule,
  warn: (text: string) => void,
): Promise<OpenedRun> {
  return inp.resume ? resumeRun(inp, opt, schedule, warn) : createRun(inp);
}

async function createRun(inp: RunInputs): Promise<OpenedRun> {
  const { model, runDir } = inp;
  const configFile = join(runDir, 'config.json');
  await ensureWritableDir(dirname(runDir), '--log-dir');
  if (existsSync(configFile)) {
    throw new UsageError(
      `${runDir} already holds a run (config.json); use --resume ${runDir} or another --run-name`,
    );
  }
  const initWeightsHash = await weightsHash(model);
  await ensureWritableDir(runDir, '--log-dir');
  await writeNewRunConfig(
    configFile,
    inp.settings,
    model,
    {
      runName: inp.runName,
      compareId: inp.compareId,
      backend: inp.backend,
      numClasses: inp.numClasses,
      meta: inp.meta,
      droppedPerEpoch: inp.train.dropped ?? 0,
    },
    initWeightsHash,
  );
  return { settings: inp.settings, checkpoint: null, initWeightsHash, replan: null };
}

async function resumeRun(
  inp: RunInputs,
  opt: ScaleAmendedSGD | MomentumSGD,
  schedule: Schedule,
  warn: (text: string) => void,
): Promise<OpenedRun> {
  const { model, runDir } = inp;
  const configFile = join(runDir, 'config.json');
  if (!existsSync(configFile))
    throw new RunDirError(`--resume ${runDir}: no config.json there (not a run directory)`);
  const stored = await readStoredConfig(configFile);
  await ensureWritableDir(runDir, '--resume');
  const { checkpoint, warnings } = await findResumePoint(runDir);
  for (const w of warnings) warn(w);
  let s = inp.settings;
  let replan: Replan | null = null;
  if (checkpoint) {
    const st = checkpoint.state;
    checkResumeEpochs(runDir, s.epochs, st);
    loadModelBytes(model, checkpoint.modelBytes, join(checkpoint.dir, 'model.safetensors'));
    const weights = checkpoint.optimizerWeights(model.name);
    await opt.setWeights(weights);
    tf.dispose(weights.map((w) => w.tensor));
    replan = restoreSchedule(schedule, st.schedule, s, st);
    if (replan) s = { ...s, cosineTMax: null };
    else opt.setLearningRate(st.learningRate);
  } else {
    // Nothing was checkpointed: the run starts again, from the same initial weights.
    const hash = await weightsHash(model);
    if (hash !== stored.initWeightsHash)
      throw new RunDirError(
        `--resume ${runDir}: no checkpoint, and the model built from the stored settings has other initial weights (hash ${hash}, stored ${stored.initWeightsHash})`,
      );
    warn(`no checkpoint in ${runDir}: training it again from the start`);
  }
  await recordResume(configFile, stored, s, {
    from: checkpoint?.dir ?? null,
    backend: inp.backend,
    device: inp.meta.device as ComputeDevice | undefined,
    replan,
  });
  return { settings: s, checkpoint, initWeightsHash: stored.initWeightsHash, replan };
}
