/**
 * @bmp/datasets/testing: writers of data sets in the official file formats (CIFAR binary files, folders
 * and archives; IDX), for test fixtures and synthetic data sets that the loaders read back.
 */
export { encodeCifar } from './cifar-format.js';
export {
  type CifarFixture,
  writeCifarArchive,
  writeCifarBinary,
  writeCifarDirectory,
} from './cifar-writer.js';
export { encodeIdx, writeIdx } from './idx.js';
