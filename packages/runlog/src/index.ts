/**
 * @bmp/runlog: the run-log format of bmp (config.json, metrics.jsonl, analysis.json), its parsers, and
 * TensorBoard event encoding. Browser-safe: nothing here touches node:fs. File I/O lives in
 * `@bmp/runlog/node`.
 */
export * from './csv';
export * from './jsonl';
export * from './runs';
export * from './schema/analysis';
export {
  type BlockScale,
  blockScaleSchema,
  OPTIMIZER_IDS,
  type OptimizerId,
  optimizerIdSchema,
} from './schema/common';
export * from './schema/compare';
export * from './schema/config';
export * from './schema/metrics';
export * from './smoothing';
export * from './tensorboard/crc32c';
export * from './tensorboard/event';
export * from './tensorboard/tfrecord';
export * from './validate';
export * from './version';
