// When the threaded wasm build cannot start (here: a tfjs-backend-wasm without setThreadsCount),
// initBackend falls back to the single-threaded build and says why. Own file: one wasm per process.
import { tf } from '@bmp/test-utils';
import { expect, it } from 'vitest';
import { defaultLoader, initBackend } from '../src';

it('falls back to one thread with the reason when the threaded build fails', async () => {
  tf.env().set('IS_TEST', true);
  const loader = async (name: Parameters<typeof defaultLoader>[0]) => {
    const module = await defaultLoader(name);
    return name === 'wasm' ? {} : module; // the backend is registered, setThreadsCount is hidden
  };
  const r = await initBackend({ prefer: 'wasm', threads: 2, environment: 'node', loader });
  expect(r.backend).toBe('wasm');
  expect(r.threads).toBe(1);
  expect(r.threadsNote).toMatch(
    /threaded wasm build failed to start in Node .*setThreadsCount.*single-threaded/,
  );
  const y = tf.tidy(() =>
    tf
      .conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'same')
      .dataSync(),
  );
  expect(Array.from(y)).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]); // neighbours inside the 3x3 map, by hand
});
