/**
 * @bmp/backmatching/internals: helpers the closed forms are built from, for tests and tools, outside the
 * main entry. They may change in any release.
 */
export { im2col } from './hessians/closed-forms';
