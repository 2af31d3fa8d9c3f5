import { defineConfig } from 'vite';

// The web app: src/web -> dist/web, with relative asset URLs so that the static build works from any
// path (the Node server, or any static file server, where the user opens run files by hand).
export default defineConfig({
  root: 'src/web',
  base: './',
  resolve: {
    // One copy of each, resolved from the viewer: @bmp/backends names the browser backends as optional
    // peers (not installed beside it), and tfjs-core must be a single instance for backends to register.
    dedupe: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-webgpu',
    ],
  },
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    rollupOptions: {
      // @bmp/backends' default loaders name the Node backends and Dawn's Node bindings (`webgpu`); the
      // viewer passes its own loader and a browser uses its own navigator.gpu, so these imports never run.
      external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
    },
  },
});
