// The optional peer backends are not installed here (tfjs-node downloads libtensorflow at install time);
// they are only ever loaded with dynamic import() and nothing is used from their exports.
declare module '@tensorflow/tfjs-node';
declare module '@tensorflow/tfjs-node-gpu';
declare module '@tensorflow/tfjs-backend-webgpu';
declare module '@tensorflow/tfjs-backend-webgl';
declare module 'webgpu';
