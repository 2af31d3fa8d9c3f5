/**
 * @bmp/models/internals: helpers the models are built from, for tests and tools, outside the main entry.
 * They may change in any release.
 */
export { roundHalfEven } from './vgg';
export { crc32 } from './weights-file';
