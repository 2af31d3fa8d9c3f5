import type * as tf from '@tensorflow/tfjs-core';

/** Feature shape without the batch dimension: `[H, W, C]` for images, `[D]` for vectors. */
export type FeatureShape = number[];

interface NodeBase {
  /** Layer name inside the model (`conv3`, `bn3`, `relu3`, `pool2`, `fc`); unique per model. */
  id: string;
  /** Ids of the nodes this one reads, in order. */
  inputs: string[];
  /** Output feature shape (no batch dimension). */
  shape: FeatureShape;
}

export type GraphNode =
  | (NodeBase & { op: 'input' })
  | (NodeBase & { op: 'zeroPad'; padding: [[number, number], [number, number]] })
  /** 'same' padding, stride 1, no bias; kernel `[kh, kw, cIn, cOut]`. */
  | (NodeBase & { op: 'conv2d'; kernel: tf.Variable; kernelSize: number })
  /** No bias; kernel `[nIn, nOut]`. */
  | (NodeBase & { op: 'dense'; kernel: tf.Variable })
  /** Batch normalisation without affine parameters over every axis but the last. */
  | (NodeBase & { op: 'batchNorm'; runningMean: tf.Variable; runningVar: tf.Variable })
  | (NodeBase & { op: 'relu' })
  | (NodeBase & { op: 'maxPool' })
  | (NodeBase & { op: 'flatten' })
  | (NodeBase & { op: 'globalAvgPool' })
  | (NodeBase & { op: 'add' });

export type GraphOp = GraphNode['op'];
