/**
 * What a user of the published packages writes: a tiny tf.LayersModel trained with ScaleAmendedSGD,
 * imported by bare names only, the same body as an ES module and as CommonJS.
 */
const BODY = `
async function main() {
  await tf.ready();
  const n = 256;
  const x = tf.randomNormal([n, 4], 0, 1, 'float32', 1);
  const labels = tf.tidy(() => tf.greater(tf.matMul(x, tf.tensor2d([[1], [-2], [0.5], [1.5]])), 0).reshape([n]).toInt());
  const y = tf.oneHot(labels, 2).toFloat();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const optimizer = new ScaleAmendedSGD({ learningRate: 0.01, momentum: 0.9, blocks: blocksFromLayersModel(model) });
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const history = await model.fit(x, y, { epochs: 8, batchSize: 32, shuffle: false, verbose: 0 });
  const losses = history.history.loss.map(Number);
  if (!losses.every(Number.isFinite) || !(losses[losses.length - 1] < losses[0]))
    throw new Error('the loss did not fall: ' + losses.join(', '));
  console.log(MODE + ' ' + process.version + ': loss ' + losses[0].toFixed(4) + ' -> ' + losses[losses.length - 1].toFixed(4));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

export const CONSUMER_MJS = `import * as tf from '@tensorflow/tfjs';
import { ScaleAmendedSGD, blocksFromLayersModel } from '@bmp/optimizer';
const MODE = 'esm';
${BODY}`;

export const CONSUMER_CJS = `const tf = require('@tensorflow/tfjs');
const { ScaleAmendedSGD, blocksFromLayersModel } = require('@bmp/optimizer');
const MODE = 'cjs';
${BODY}`;

/** The line a consumer prints when its loss fell. */
export const TRAINED = /^(esm|cjs) v\d+\.\d+\.\d+: loss \d+\.\d+ -> \d+\.\d+$/m;
