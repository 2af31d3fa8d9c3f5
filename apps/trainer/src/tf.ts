/**
 * TensorFlow.js for the trainer: tfjs-core (its CJS build, the one every @bmp package resolves to in
 * Node, so there is one engine) plus tfjs-layers, loaded for its side effect of registering every
 * gradient of tfjs-core (and for `tf.LayersModel` support in the library API).
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
