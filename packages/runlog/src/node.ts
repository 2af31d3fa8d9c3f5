/**
 * @bmp/runlog/node: everything from `@bmp/runlog` plus the file I/O (Node only): atomic JSON writes,
 * the JSONL writer and streaming reader, the TensorBoard event-file writer and run-directory loading.
 */
export * from './index';
export * from './node/atomic';
export * from './node/jsonl-writer';
export * from './node/read';
export * from './node/runs';
export * from './node/tensorboard-writer';
