/**
 * One training run: opened (run-open.ts), then epochs of steps (training-step.ts), each epoch evaluated
 * and logged, checkpoints written (run-checkpoint.ts), until the last epoch, a divergence or an interrupt.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ReduceLROnPlateau } from '@bmp/optimizer';
import type { EpochAccumulators } from './checkpoint';
import type { TrainSettings } from './config';
import { DataError, describeError, errnoReason, FileSystemError } from './errors';
import { evaluate } from './evaluate';
import { rewindMetrics } from './metrics-rewind';
import { saveRunCheckpoint } from './run-checkpoint';
import { openRun } from './run-open';
import { makeOptimizer, type RunOptimizer, scalesOf } from './run-optimizer';
import type { RunInputs, RunResult } from './run-types';
import { RunWriters } from './run-writers';
import { type EpochRecord, METRICS_SCHEMA_VERSION, readJsonl } from './runlog';
import { makeSchedule, replanLine, type Schedule } from './schedule';
import { trainStep } from './training-step';

export { evaluate } from './evaluate';
export type { RunInputs, RunResult } from './run-types';

/** A run in progress: what the epoch and step functions share. */
export interface ActiveRun {
  inp: RunInputs;
  s: TrainSettings;
  opt: RunOptimizer;
  schedule: Schedule;
  writers: RunWriters;
  initWeightsHash: string;
  globalStep: number;
  acc: EpochAccumulators;
}

type Stop = { status: 'diverged' | 'interrupted'; message: string; nonFinite?: number };

const emptyAcc = (): EpochAccumulators => ({ lossSum: 0, correct: 0, seen: 0, trainSeconds: 0 });

/**
 * One training run (see RunInputs). A file-system error while it trains (a full disk, a directory made
 * read-only) becomes a FileSystemError that names the run and says how to continue: the checkpoints
 * already written are complete, and --resume takes the run up from the newest (or from its start).
 */
export async function runTraining(inp: RunInputs): Promise<RunResult> {
  try {
    return await trainRun(inp);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code || describeError(e).category !== 'filesystem') throw e;
    const path = (e as NodeJS.ErrnoException).path ?? inp.runDir;
    throw new FileSystemError(
      `${path}: ${errnoReason(e)} while training ${inp.runName}; the checkpoints it wrote are complete: ` +
        `once that is fixed, continue with --resume ${inp.runDir}`,
      { cause: e },
    );
  }
}

async function trainRun(inp: RunInputs): Promise<RunResult> {
  const { reporter, runName: run } = inp;
  if (inp.test.count === 0)
    throw new DataError(`${run}: the test set is empty (every epoch reports test loss and error)`);
  if (inp.train.count === 0 || inp.train.numBatches === 0)
    throw new DataError(`${run}: the training set is empty: no images to train on`);
  const warn = (text: string) => reporter.event({ type: 'message', run, level: 'warn', text });
  const opt = makeOptimizer(inp.settings, inp.model, warn);
  const schedule = makeSchedule(inp.settings, opt, inp.val != null);
  const opened = await openRun(inp, opt, schedule, warn).catch((e) => {
    opt.dispose();
    throw e;
  });
  const { checkpoint, replan, settings: s } = opened;
  const st = checkpoint?.state;
  const start = { epoch: st?.epoch ?? 0, batch: st?.batch ?? 0 };
  const kept = inp.resume
    ? await rewindMetrics(join(inp.runDir, 'metrics.jsonl'), st?.metricsBytes ?? 0)
    : [];
  if (replan) warn(replanLine(replan, s.cosineEtaMin, opt.learningRate, start.epoch));
  const r: ActiveRun = {
    inp,
    s,
    opt,
    schedule,
    writers: new RunWriters(inp.runDir, run, kept),
    initWeightsHash: opened.initWeightsHash,
    globalStep: st?.globalStep ?? 0,
    acc: st ? { ...st.accumulators } : emptyAcc(),
  };
  r.writers.event(
    inp.resume
      ? {
          event: 'resume',
          step: r.globalStep,
          epoch: start.epoch,
          ...(checkpoint ? { checkpoint: checkpoint.dir } : { fromStart: true }),
        }
      : { event: 'start', step: 0, epoch: 0 },
  );
  reporter.event({
    type: 'start',
    run,
    runDir: inp.runDir,
    optimizer: s.optimizer,
    lr: opt.learningRate,
    seed: s.seed,
    epochs: s.epochs,
    startEpoch: start.epoch,
    numBatches: inp.train.numBatches,
    backend: inp.backend,
    device: deviceNote(inp.meta.device),
    resumed: checkpoint != null,
  });
  for (let epoch = start.epoch; epoch < s.epochs; epoch++) {
    const first = epoch === start.epoch ? start.batch : 0;
    if (first === 0) r.acc = emptyAcc();
    const stop = (await trainEpoch(r, epoch, first)) ?? (await endEpoch(r, epoch));
    if (stop) return finish(r, stop);
  }
  return finish(r, null);
}

/** The steps of one epoch from batch `first` on; a divergence or an interrupt stops it. */
async function trainEpoch(r: ActiveRun, epoch: number, first: number): Promise<Stop | null> {
  const { inp, s, opt } = r;
  const orderHash = inp.train.orderHash(epoch);
  const lr = opt.learningRate;
  let batchIndex = first;
  for await (const batch of inp.train.batches(epoch, first)) {
    const step = await trainStep(inp.model, opt, batch, inp.numClasses);
    if (!step.ok)
      return {
        status: 'diverged',
        message: divergedMessage(step.loss, epoch, batchIndex, r.globalStep, inp.runDir, step.detail),
        nonFinite: step.loss,
      };
    r.acc.trainSeconds += step.seconds;
    r.acc.lossSum += step.loss * step.size;
    r.acc.correct += step.correct;
    r.acc.seen += step.size;
    r.globalStep++;
    if (s.logEverySteps > 0 && r.globalStep % s.logEverySteps === 0)
      r.writers.step({
        epoch,
        step: r.globalStep,
        loss: step.loss,
        lr,
        scales: await scalesOf(opt, inp.model.name),
      });
    inp.reporter.event({
      type: 'step',
      run: inp.runName,
      epoch,
      epochs: s.epochs,
      batch: batchIndex,
      numBatches: inp.train.numBatches,
      loss: step.loss,
      imagesPerSecond: r.acc.seen / Math.max(1e-9, r.acc.trainSeconds),
    });
    batchIndex++;
    // Let the event loop run (a Ctrl-C is a macrotask; the loop above only awaits microtasks).
    await new Promise<void>((res) => setImmediate(res));
    if (inp.signal?.aborted) {
      await saveRunCheckpoint(r, { epoch, batch: batchIndex, acc: r.acc, orderHash });
      return {
        status: 'interrupted',
        message: `checkpoint saved at epoch ${epoch + 1}, batch ${batchIndex}; continue with --resume ${inp.runDir}`,
      };
    }
  }
  return null;
}

/** Evaluation, the epoch record, the schedule's step and the epoch's checkpoint. */
async function endEpoch(r: ActiveRun, epoch: number): Promise<Stop | null> {
  const { inp, s, opt, acc } = r;
  const val = inp.val ? await evaluate(inp.model, inp.val, inp.numClasses, 'validation set') : null;
  const test = await evaluate(inp.model, inp.test, inp.numClasses);
  const trainLoss = acc.lossSum / Math.max(1, acc.seen);
  const record: EpochRecord = {
    type: 'epoch',
    v: METRICS_SCHEMA_VERSION,
    run: inp.runName,
    compareId: inp.compareId,
    optimizer: s.optimizer,
    seed: s.seed,
    epoch,
    step: r.globalStep,
    trainLoss,
    trainAccuracy: acc.correct / Math.max(1, acc.seen),
    ...(val ? { valAccuracy: val.accuracy, valLoss: val.loss } : {}),
    testLoss: test.loss,
    testError: 1 - test.accuracy,
    testAccuracy: test.accuracy,
    lr: opt.learningRate,
    imagesPerSecond: acc.seen / Math.max(1e-9, acc.trainSeconds),
    epochSeconds: acc.trainSeconds,
    wallTime: Date.now() / 1000,
    orderHash: inp.train.orderHash(epoch),
    scales: await scalesOf(opt, inp.model.name),
  };
  if (r.schedule instanceof ReduceLROnPlateau) r.schedule.step(val ? val.accuracy : trainLoss);
  else r.schedule?.step();
  r.writers.epoch(record);
  inp.reporter.event({ type: 'epoch', run: inp.runName, epochs: s.epochs, record });
  const last = epoch + 1 === s.epochs;
  const interrupted = inp.signal?.aborted === true && !last;
  const scheduled = s.checkpointEvery > 0 && (epoch + 1) % s.checkpointEvery === 0;
  if (last || scheduled || interrupted)
    await saveRunCheckpoint(r, { epoch: epoch + 1, batch: 0, acc: emptyAcc(), orderHash: null });
  if (!interrupted) return null;
  return {
    status: 'interrupted',
    message: `checkpoint saved after epoch ${epoch + 1}; continue with --resume ${inp.runDir}`,
  };
}

async function finish(r: ActiveRun, stop: Stop | null): Promise<RunResult> {
  const { inp, s } = r;
  const status = stop?.status ?? 'completed';
  const message = stop?.message;
  if (stop?.status === 'diverged')
    r.writers.event({ event: 'non-finite-loss', step: r.globalStep, value: String(stop.nonFinite), message });
  r.writers.event({
    event: status === 'interrupted' ? 'interrupt' : 'stop',
    step: r.globalStep,
    reason: status,
    message,
  });
  r.writers.close();
  r.opt.dispose();
  inp.reporter.event({ type: 'end', run: inp.runName, status, runDir: inp.runDir, message });
  const all = await readEpochRecords(r.writers.metricsFile);
  const testErrors = all.map((e) => e.testError).filter((e): e is number => e !== undefined);
  return {
    runName: inp.runName,
    runDir: inp.runDir,
    optimizer: s.optimizer,
    lr: s.lr,
    seed: s.seed,
    compareId: inp.compareId,
    status,
    message,
    initWeightsHash: r.initWeightsHash,
    epochs: all,
    finalTestError: testErrors.length ? testErrors[testErrors.length - 1] : null,
    bestTestError: testErrors.length ? Math.min(...testErrors) : null,
    secondsPerEpoch: all.length ? all.reduce((t, e) => t + (e.epochSeconds ?? 0), 0) / all.length : null,
  };
}

function divergedMessage(
  loss: number,
  epoch: number,
  batch: number,
  step: number,
  runDir: string,
  detail?: string,
): string {
  return (
    `training diverged: the loss is ${loss} at epoch ${epoch + 1}, batch ${batch + 1} (step ${step + 1})` +
    `${detail ? ` (${detail})` : ''}; weights were not updated with it. The last good checkpoint in ` +
    `${join(runDir, 'checkpoints')} is kept; try a smaller --lr.`
  );
}

export async function readEpochRecords(metricsFile: string): Promise<EpochRecord[]> {
  if (!existsSync(metricsFile)) return [];
  return (await readJsonl(metricsFile)).filter((e): e is EpochRecord => e.type === 'epoch');
}

/** The device in the start line, where the backend's name does not say it (GPUs, software adapters). */
function deviceNote(device: unknown): string | undefined {
  const d = device as { kind?: string; label?: string } | undefined;
  return d?.label != null && d.kind !== 'cpu' ? d.label : undefined;
}
