// A dense-network example of the optimizer alone: trains the same dense network (bias-free, batch norm
// without affine parameters, as in the paper) from the same initial weights over the same batches with
// scale-amended SGD and with momentum SGD, and prints both losses falling. Run it from the repository root
// with `node examples/train-dense.mjs [--epochs n]` after `pnpm build`.
//
// The data are synthetic so that the example runs anywhere without a download: 16-dimensional Gaussian
// inputs labelled by a fixed random teacher network (10 classes). It uses nothing but @bmp/optimizer and
// TensorFlow.js; the project's main job, the paper's experiment on conv nets, is `pnpm train`
// (`bmp-train compare`, apps/trainer).

import { parseArgs } from 'node:util';
import { MomentumSGD, ScaleAmendedSGD } from '@bmp/optimizer';
import { mulberry32 } from '@bmp/random';
import * as tf from '@tensorflow/tfjs';

const SIZES = [16, 128, 128, 10];
const TRAIN = 4000;
const TEST = 1000;
const BATCH = 64;
const { values: args } = parseArgs({ options: { epochs: { type: 'string', default: '6' } } });
const EPOCHS = Number(args.epochs);
if (!Number.isInteger(EPOCHS) || EPOCHS < 1)
  throw new Error(`--epochs must be a positive integer, got ${args.epochs}`);

function shuffled(n, seed) {
  const rand = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function makeData() {
  return tf.tidy(() => {
    const x = tf.randomNormal([TRAIN + TEST, SIZES[0]], 0, 1, 'float32', 1);
    const t1 = tf.randomNormal([SIZES[0], 64], 0, 1, 'float32', 2);
    const t2 = tf.randomNormal([64, SIZES[3]], 0, 1, 'float32', 3);
    const labels = tf.argMax(tf.matMul(tf.relu(tf.matMul(x, t1)), t2), 1);
    const y = tf.oneHot(labels, SIZES[3]).toFloat();
    const [xTrain, xTest] = tf.split(x, [TRAIN, TEST]);
    const [yTrain, yTest] = tf.split(y, [TRAIN, TEST]);
    return { xTrain, yTrain, xTest, yTest };
  });
}

/** Bias-free dense -> BN (no affine, batch statistics) -> ReLU, then a bias-free classifier. */
function makeNet(tag, initial) {
  const weights = initial.map((w, i) => tf.variable(w.clone(), true, `${tag}/dense${i}/kernel`));
  const apply = (x) =>
    tf.tidy(() => {
      let h = x;
      weights.forEach((w, i) => {
        h = tf.matMul(h, w);
        if (i < weights.length - 1) {
          const { mean, variance } = tf.moments(h, 0);
          h = tf.relu(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))));
        }
      });
      return h;
    });
  const blocks = weights.map((weight) => ({ weight, kind: 'dense' }));
  return { weights, apply, blocks };
}

async function main() {
  await tf.setBackend('cpu');
  const data = makeData();
  // He initialisation, shared by both runs.
  const initial = SIZES.slice(0, -1).map((nIn, i) =>
    tf.randomNormal([nIn, SIZES[i + 1]], 0, Math.sqrt(2 / nIn), 'float32', 10 + i),
  );
  // As in the paper's CIFAR-10 run, scale-amended SGD takes a smaller learning rate: with 10 classes
  // the backward factor on the hidden layers is about 10 / 128, which scales their steps up.
  const options = { momentum: 0.9, weightDecay: 5e-4 };
  const runs = [
    { name: 'scale-amended', net: makeNet('sa', initial), Optimizer: ScaleAmendedSGD, learningRate: 0.01 },
    { name: 'sgd', net: makeNet('sgd', initial), Optimizer: MomentumSGD, learningRate: 0.1 },
  ].map((r) => ({
    ...r,
    optimizer: new r.Optimizer({ ...options, learningRate: r.learningRate, blocks: r.net.blocks }),
  }));

  console.log(
    `dense net ${SIZES.join('-')} with batch norm, ${TRAIN} training / ${TEST} test examples, batch ${BATCH}`,
  );
  console.log(
    `lr ${runs[0].learningRate} (scale-amended) and ${runs[1].learningRate} (sgd), momentum ${options.momentum}, weight decay ${options.weightDecay}\n`,
  );
  console.log('epoch   train loss (scale-amended | sgd)   test accuracy (scale-amended | sgd)');
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    const order = shuffled(TRAIN, epoch); // the same batches for both optimizers
    const row = [];
    for (const run of runs) {
      let total = tf.scalar(0);
      for (let start = 0; start + BATCH <= TRAIN; start += BATCH) {
        const idx = tf.tensor1d(order.slice(start, start + BATCH), 'int32');
        const x = tf.gather(data.xTrain, idx);
        const y = tf.gather(data.yTrain, idx);
        const loss = run.optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, run.net.apply(x)), true);
        const next = tf.add(total, loss);
        tf.dispose([total, loss, idx, x, y]);
        total = next;
      }
      const trainLoss = (await total.data())[0] / Math.floor(TRAIN / BATCH);
      total.dispose();
      const accuracy = tf.tidy(() =>
        tf.mean(tf.equal(tf.argMax(run.net.apply(data.xTest), 1), tf.argMax(data.yTest, 1)).toFloat()),
      );
      row.push({ trainLoss, accuracy: (await accuracy.data())[0] });
      accuracy.dispose();
    }
    const [sa, sgd] = row;
    console.log(
      `${String(epoch).padStart(5)}   ${sa.trainLoss.toFixed(4).padStart(10)} | ${sgd.trainLoss.toFixed(4).padEnd(10)}` +
        `          ${(100 * sa.accuracy).toFixed(1).padStart(6)}% | ${(100 * sgd.accuracy).toFixed(1)}%`,
    );
  }
  console.log(
    '\nscale-amended SGD scalars in the last step (eq. 24; m is the backward factor of Algorithm 2):',
  );
  for (const s of runs[0].optimizer.lastScales()) {
    console.log(`  ${s.name.padEnd(18)} m ${s.m.toFixed(4)}  mW ${s.mW.toFixed(4)}  mZ ${s.mZ.toFixed(4)}`);
  }
  console.log(`\nlive tensors at the end: ${tf.memory().numTensors}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
