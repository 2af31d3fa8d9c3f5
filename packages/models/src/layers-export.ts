import type * as tf from '@tensorflow/tfjs-core';
import type { GraphNode } from './graph';

/** Keras / tfjs-layers version string written into `model.json`. */
export const KERAS_VERSION = 'tfjs-layers 4.22.0';

type Json = Record<string, unknown>;

const GLOROT = {
  class_name: 'VarianceScaling',
  config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null },
};

function layerConfig(
  node: GraphNode,
  inputShape: number[],
  momentum: number,
  epsilon: number,
): { className: string; config: Json } {
  const base = { name: node.id, trainable: true };
  switch (node.op) {
    case 'input':
      return {
        className: 'InputLayer',
        config: { batch_input_shape: [null, ...inputShape], dtype: 'float32', sparse: false, name: node.id },
      };
    case 'zeroPad':
      return {
        className: 'ZeroPadding2D',
        config: { padding: node.padding, data_format: 'channels_last', ...base },
      };
    case 'conv2d':
      return {
        className: 'Conv2D',
        config: {
          filters: node.shape[2],
          kernel_size: [node.kernelSize, node.kernelSize],
          strides: [1, 1],
          padding: 'same',
          data_format: 'channels_last',
          dilation_rate: [1, 1],
          activation: 'linear',
          use_bias: false,
          kernel_initializer: GLOROT,
          kernel_regularizer: null,
          kernel_constraint: null,
          activity_regularizer: null,
          ...base,
          trainable: node.kernel.trainable,
        },
      };
    case 'dense':
      return {
        className: 'Dense',
        config: {
          units: node.shape[0],
          activation: 'linear',
          use_bias: false,
          kernel_initializer: GLOROT,
          kernel_regularizer: null,
          kernel_constraint: null,
          activity_regularizer: null,
          ...base,
          trainable: node.kernel.trainable,
        },
      };
    case 'batchNorm':
      return {
        className: 'BatchNormalization',
        config: {
          axis: -1,
          // Keras convention: moving = momentum * moving + (1 - momentum) * batch, the opposite of PyTorch's.
          momentum: 1 - momentum,
          epsilon,
          center: false,
          scale: false,
          moving_mean_initializer: { class_name: 'Zeros', config: {} },
          moving_variance_initializer: { class_name: 'Ones', config: {} },
          ...base,
        },
      };
    case 'relu':
      return { className: 'Activation', config: { activation: 'relu', ...base } };
    case 'maxPool':
      return {
        className: 'MaxPooling2D',
        config: {
          pool_size: [2, 2],
          strides: [2, 2],
          padding: 'valid',
          data_format: 'channels_last',
          ...base,
        },
      };
    case 'flatten':
      return { className: 'Flatten', config: { ...base } };
    case 'globalAvgPool':
      return { className: 'GlobalAveragePooling2D', config: { data_format: 'channels_last', ...base } };
    case 'add':
      return { className: 'Add', config: { ...base } };
  }
}

/** The weights of a node in the order tfjs-layers creates them, with their Keras names. */
export function nodeWeights(node: GraphNode): Array<{ name: string; variable: tf.Variable }> {
  if (node.op === 'conv2d' || node.op === 'dense')
    return [{ name: `${node.id}/kernel`, variable: node.kernel }];
  if (node.op === 'batchNorm') {
    return [
      { name: `${node.id}/moving_mean`, variable: node.runningMean },
      { name: `${node.id}/moving_variance`, variable: node.runningVar },
    ];
  }
  return [];
}

/** Keras functional-model topology (`class_name: 'Model'`) equivalent to the graph. */
export function kerasTopology(
  modelName: string,
  nodes: readonly GraphNode[],
  outputId: string,
  momentum: number,
  epsilon: number,
): Json {
  const inputShape = nodes[0].shape;
  const layers = nodes.map((node) => {
    const { className, config } = layerConfig(node, inputShape, momentum, epsilon);
    return {
      name: node.id,
      class_name: className,
      config,
      inbound_nodes: node.inputs.length === 0 ? [] : [node.inputs.map((id) => [id, 0, 0, {}])],
    };
  });
  return {
    class_name: 'Model',
    config: {
      name: modelName,
      layers,
      input_layers: [[nodes[0].id, 0, 0]],
      output_layers: [[outputId, 0, 0]],
    },
    keras_version: KERAS_VERSION,
    backend: 'tensor_flow.js',
  };
}
