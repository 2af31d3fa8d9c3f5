// On wasm, the trainer's device (written to config.json) carries @bmp/backends-native's variant: the
// same isa, variants available and reason that the package reports (loadNative); without the addon, none.
import { loadNative } from '@bmp/backends/internals';
import { expect, it } from 'vitest';
import { setupBackend } from '../src/environment';

it('setupBackend(wasm): device.native is the loaded variant (or absent without the addon)', async () => {
  const { device } = await setupBackend('wasm');
  const { choice } = await loadNative();
  if (choice == null) {
    expect(device.native).toBeUndefined();
    return;
  }
  expect(device.native).toMatchObject({
    isa: choice.isa,
    available: choice.available,
    isaChoice: choice.why,
  });
  expect(device.label).toContain(`native ${choice.isa} kernels`);
});
