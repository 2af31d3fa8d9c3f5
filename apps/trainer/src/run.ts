/** One training run: the loop, evaluation, logs, checkpoints, resume, divergence and interruption. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MomentumSGD, ReduceLROnPlateau, ScaleAmendedSGD } from '@bmp/optimizer';
import { type EpochAccumulators, type FaultHook, writeCheckpoint } from './checkpoint';
import type { TrainSettings } from './config';
import type { BatchSource } from './data';
import { DataError, describeError, errnoReason, FileSystemError } from './errors';
import { rewindMetrics } from './metrics-rewind';
import { serializeModel, stripModelPrefix, type TrainableModel } from './model';
import type { Reporter } from './progress';
import { type OpenedRun, openRun } from './run-open';
import {
  type BlockScaleRecord,
  type EpochRecord,
  type EventInput,
  METRICS_SCHEMA_VERSION,
  MetricsWriter,
  readJsonl,
  type StepRecord,
  TensorBoardWriter,
} from './runlog';
import { makeSchedule, replanLine } from './schedule';
import { tf } from './tf';

export class DivergedError extends Error {
  override name = 'DivergedError';
}

export interface RunInputs {
  settings: TrainSettings;
  model: TrainableModel;
  train: BatchSource;
  val: BatchSource | null;
  test: BatchSource;
  numClasses: number;
  runDir: string;
  runName: string;
  compareId: string | null;
  /** Recorded in config.json (dataset description, backend, versions, command...). */
  meta: Record<string, unknown>;
  resume: boolean;
  reporter: Reporter;
  backend: string;
  signal?: AbortSignal;
  /** Tests: simulate a crash while a checkpoint is written. */
  checkpointFault?: FaultHook;
}

export interface RunResult {
  runName: string;
  runDir: string;
  optimizer: string;
  lr: number;
  seed: number;
  compareId: string | null;
  status: 'completed' | 'interrupted' | 'diverged';
  message?: string;
  initWeightsHash: string;
  epochs: EpochRecord[];
  finalTestError: number | null;
  bestTestError: number | null;
  secondsPerEpoch: number | null;
}

type Optimizer = ScaleAmendedSGD | MomentumSGD;

function makeOptimizer(s: TrainSettings, model: TrainableModel, reporter: Reporter, run: string): Optimizer {
  const common = {
    learningRate: s.lr,
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    nesterov: s.nesterov,
    blocks: [...model.blocks],
    onWarning: (text: string) => reporter.event({ type: 'message', run, level: 'warn', text }),
  };
  return s.optimizer === 'sgd'
    ? new MomentumSGD(common)
    : new ScaleAmendedSGD({ ...common, positionScaling: s.positionScaling });
}

function crossEntropy(logits: tf.Tensor, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  const oneHot = tf.oneHot(labels, numClasses);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits as tf.Tensor2D)), 1))) as tf.Scalar;
}

function correctCount(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar;
}

export async function evaluate(
  model: TrainableModel,
  source: BatchSource,
  numClasses: number,
  what = 'test set',
): Promise<{ loss: number; accuracy: number; count: number }> {
  // Every epoch record carries the test loss and error (@bmp/runlog's schema; the viewer plots them):
  // an empty set would give a made-up 100% error, so it is an error.
  if (source.count === 0) throw new Error(`the ${what} is empty: no images to evaluate`);
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for await (const { xs, ys, size } of source.batches(0, 0)) {
    const [l, c] = tf.tidy(() => {
      const logits = model.apply(xs, { training: false });
      return [crossEntropy(logits, ys, numClasses), correctCount(logits, ys)];
    });
    lossSum += (await l.data())[0] * size;
    correct += (await c.data())[0];
    count += size;
    tf.dispose([l, c, xs, ys]);
  }
  if (count === 0) throw new Error(`the ${what} gave no batches: no images to evaluate`);
  return { loss: lossSum / count, accuracy: correct / count, count };
}

function scalesOf(opt: Optimizer, prefix: string): BlockScaleRecord[] | undefined {
  if (!(opt instanceof ScaleAmendedSGD)) return undefined;
  return opt.lastScales().map(({ name, m, mW, mZ }) => ({ name: stripModelPrefix(name, prefix), m, mW, mZ }));
}

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
  const { model, reporter, runDir, runName } = inp;
  const run = runName;
  const metricsFile = join(runDir, 'metrics.jsonl');
  if (inp.test.count === 0)
    throw new DataError(`${runName}: the test set is empty (every epoch reports test loss and error)`);
  if (inp.train.count === 0 || inp.train.numBatches === 0)
    throw new DataError(`${runName}: the training set is empty: no images to train on`);
  const warn = (text: string) => reporter.event({ type: 'message', run, level: 'warn', text });
  let s = inp.settings;

  const opt = makeOptimizer(s, model, reporter, run);
  const schedule = makeSchedule(s, opt, inp.val != null);
  let opened: OpenedRun;
  try {
    opened = await openRun(inp, opt, schedule, warn);
  } catch (e) {
    opt.dispose();
    throw e;
  }
  const { checkpoint, initWeightsHash, replan } = opened;
  s = opened.settings;

  let startEpoch = 0;
  let startBatch = 0;
  let globalStep = 0;
  let acc = emptyAcc();
  if (checkpoint) {
    const st = checkpoint.state;
    startEpoch = st.epoch;
    startBatch = st.batch;
    globalStep = st.globalStep;
    acc = { ...st.accumulators };
  }
  const keptEvents = inp.resume ? await rewindMetrics(metricsFile, checkpoint?.state.metricsBytes ?? 0) : [];
  if (replan) warn(replanLine(replan, s.cosineEtaMin, opt.learningRate, startEpoch));

  const metrics = new MetricsWriter(metricsFile);
  for (const e of keptEvents) metrics.append(e);
  const tb = new TensorBoardWriter(runDir);
  const event = (e: Omit<EventInput, 'type' | 'wallTime'>) =>
    metrics.append({ type: 'event', wallTime: Date.now() / 1000, run: runName, ...e } as EventInput);
  event(
    inp.resume
      ? {
          event: 'resume',
          step: globalStep,
          epoch: startEpoch,
          ...(checkpoint ? { checkpoint: checkpoint.dir } : { fromStart: true }),
        }
      : { event: 'start', step: 0, epoch: 0 },
  );
  const records: EpochRecord[] = [];
  const trainable = [...model.trainableVariables];
  const prefix = model.name;

  const saveCheckpoint = async (
    epoch: number,
    batch: number,
    a: EpochAccumulators,
    orderHash: string | null,
  ) => {
    metrics.flush();
    // getWeights returns a fresh `iter` scalar and the live momentum buffers: dispose only the former
    const optimizerWeights = await opt.getWeights();
    const fresh = optimizerWeights.filter((w) => w.name === 'iter').map((w) => w.tensor);
    try {
      await writeCheckpoint(
        runDir,
        {
          modelBytes: serializeModel(model),
          optimizerWeights,
          state: {
            epoch,
            batch,
            globalStep,
            accumulators: { ...a },
            schedule: schedule?.state() ?? null,
            learningRate: opt.learningRate,
            metricsBytes: metrics.size,
            rng: {
              seed: s.seed,
              dataSeed: s.dataSeed,
              generator:
                'mulberry32 streams mixed from (seed, epoch) for the order and (seed, epoch, image) for augmentation',
            },
            orderHash,
            modelPrefix: prefix,
          },
        },
        s.keepCheckpoints,
        inp.checkpointFault,
      );
    } finally {
      tf.dispose(fresh);
    }
  };

  reporter.event({
    type: 'start',
    run,
    runDir,
    optimizer: s.optimizer,
    lr: opt.learningRate,
    seed: s.seed,
    epochs: s.epochs,
    startEpoch,
    numBatches: inp.train.numBatches,
    backend: inp.backend,
    resumed: checkpoint != null,
  });

  const finish = async (
    status: RunResult['status'],
    message?: string,
    nonFinite?: number,
  ): Promise<RunResult> => {
    if (status === 'diverged')
      event({ event: 'non-finite-loss', step: globalStep, value: String(nonFinite), message });
    event({
      event: status === 'interrupted' ? 'interrupt' : 'stop',
      step: globalStep,
      reason: status,
      message,
    });
    metrics.close();
    tb.close();
    opt.dispose();
    reporter.event({ type: 'end', run, status, runDir, message });
    const all = await readEpochRecords(metricsFile);
    const testErrors = all.map((r) => r.testError).filter((e): e is number => e !== undefined);
    return {
      runName,
      runDir,
      optimizer: s.optimizer,
      lr: s.lr,
      seed: s.seed,
      compareId: inp.compareId,
      status,
      message,
      initWeightsHash,
      epochs: all,
      finalTestError: testErrors.length ? testErrors[testErrors.length - 1] : null,
      bestTestError: testErrors.length ? Math.min(...testErrors) : null,
      secondsPerEpoch: all.length ? all.reduce((t, r) => t + (r.epochSeconds ?? 0), 0) / all.length : null,
    };
  };

  for (let epoch = startEpoch; epoch < s.epochs; epoch++) {
    const orderHash = inp.train.orderHash(epoch);
    const first = epoch === startEpoch ? startBatch : 0;
    if (first === 0) acc = emptyAcc();
    let batchIndex = first;
    const lr = opt.learningRate;
    for await (const { xs, ys, size } of inp.train.batches(epoch, first)) {
      const t0 = performance.now();
      let correctT: tf.Scalar | null = null;
      const { value, grads } = tf.variableGrads(() => {
        // fusedBatchNorm: the same values with a hand-written BN gradient (fewer ops per step);
        // training needs only first derivatives.
        const logits = model.apply(xs, { training: true, fusedBatchNorm: true });
        correctT = tf.keep(correctCount(logits, ys));
        return crossEntropy(logits, ys, inp.numClasses);
      }, trainable);
      const loss = value.dataSync()[0];
      const correct = (correctT as tf.Scalar | null)?.dataSync()[0] ?? 0;
      tf.dispose([value, correctT as tf.Scalar | null].filter((t) => t != null) as tf.Tensor[]);
      tf.dispose([xs, ys]);
      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        return finish('diverged', divergedMessage(loss, epoch, batchIndex, globalStep, runDir), loss);
      }
      try {
        opt.applyGradients(grads);
      } catch (e) {
        tf.dispose(Object.values(grads));
        const msg = (e as Error).message;
        if (/nan|finite|infinit/i.test(msg))
          return finish(
            'diverged',
            divergedMessage(Number.NaN, epoch, batchIndex, globalStep, runDir, msg),
            Number.NaN,
          );
        throw e;
      }
      tf.dispose(Object.values(grads));
      acc.trainSeconds += (performance.now() - t0) / 1000;
      acc.lossSum += loss * size;
      acc.correct += correct;
      acc.seen += size;
      globalStep++;
      const ips = acc.seen / Math.max(1e-9, acc.trainSeconds);
      if (s.logEverySteps > 0 && globalStep % s.logEverySteps === 0) {
        const rec: StepRecord = {
          type: 'step',
          v: METRICS_SCHEMA_VERSION,
          run: runName,
          epoch,
          step: globalStep,
          wallTime: Date.now() / 1000,
          loss,
          lr,
          scales: scalesOf(opt, prefix),
        };
        metrics.append(rec);
        tb.step(rec);
      }
      reporter.event({
        type: 'step',
        run,
        epoch,
        epochs: s.epochs,
        batch: batchIndex,
        numBatches: inp.train.numBatches,
        loss,
        imagesPerSecond: ips,
      });
      batchIndex++;
      // Let the event loop run (a Ctrl-C is a macrotask; the loop above only awaits microtasks).
      await new Promise<void>((r) => setImmediate(r));
      if (inp.signal?.aborted) {
        await saveCheckpoint(epoch, batchIndex, acc, orderHash);
        return finish(
          'interrupted',
          `checkpoint saved at epoch ${epoch + 1}, batch ${batchIndex}; continue with --resume ${runDir}`,
        );
      }
    }

    const val = inp.val ? await evaluate(model, inp.val, inp.numClasses, 'validation set') : null;
    const test = await evaluate(model, inp.test, inp.numClasses);
    const trainLoss = acc.lossSum / Math.max(1, acc.seen);
    const record: EpochRecord = {
      type: 'epoch',
      v: METRICS_SCHEMA_VERSION,
      run: runName,
      compareId: inp.compareId,
      optimizer: s.optimizer,
      seed: s.seed,
      epoch,
      step: globalStep,
      trainLoss,
      trainAccuracy: acc.correct / Math.max(1, acc.seen),
      ...(val ? { valAccuracy: val.accuracy, valLoss: val.loss } : {}),
      testLoss: test.loss,
      testError: 1 - test.accuracy,
      testAccuracy: test.accuracy,
      lr,
      imagesPerSecond: acc.seen / Math.max(1e-9, acc.trainSeconds),
      epochSeconds: acc.trainSeconds,
      wallTime: Date.now() / 1000,
      orderHash,
      scales: scalesOf(opt, prefix),
    };
    if (schedule instanceof ReduceLROnPlateau) schedule.step(val ? val.accuracy : trainLoss);
    else schedule?.step();
    metrics.append(record);
    records.push(record);
    tb.epoch(record);
    reporter.event({ type: 'epoch', run, epochs: s.epochs, record });
    const last = epoch + 1 === s.epochs;
    if (last || (s.checkpointEvery > 0 && (epoch + 1) % s.checkpointEvery === 0)) {
      await saveCheckpoint(epoch + 1, 0, emptyAcc(), null);
    }
    if (inp.signal?.aborted && !last) {
      if (!(s.checkpointEvery > 0 && (epoch + 1) % s.checkpointEvery === 0))
        await saveCheckpoint(epoch + 1, 0, emptyAcc(), null);
      return finish(
        'interrupted',
        `checkpoint saved after epoch ${epoch + 1}; continue with --resume ${runDir}`,
      );
    }
  }
  return finish('completed');
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
  return (await readJsonl(metricsFile)).filter((r): r is EpochRecord => r.type === 'epoch');
}
