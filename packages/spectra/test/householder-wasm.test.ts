import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import wabt from 'wabt';
import { WASM_BASE64 } from '../src/householder-pass-wasm';

// The Householder pass ships as a base64 constant compiled from src/householder-pass.wat. This test
// compiles the .wat with the `wabt` npm package (a devDependency) and requires the same bytes, so the
// two cannot drift apart. After editing the .wat, replace WASM_BASE64 in src/householder-pass-wasm.ts
// with the base64 printed by the failing assertion (or `wat2wasm householder-pass.wat -o - | base64 -w0`).
describe('householder-pass-wasm.ts', () => {
  it('embeds exactly the compiled householder-pass.wat', async () => {
    const source = readFileSync(join(__dirname, '../src/householder-pass.wat'), 'utf8');
    const tools = await wabt();
    const module = tools.parseWat('householder-pass.wat', source, { simd: true });
    try {
      module.validate();
      const bytes = module.toBinary({}).buffer;
      expect(bytes.length).toBe(827);
      expect(WASM_BASE64).toBe(Buffer.from(bytes).toString('base64'));
    } finally {
      module.destroy();
    }
  });
});
