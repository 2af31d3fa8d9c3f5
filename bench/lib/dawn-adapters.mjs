#!/usr/bin/env node
// What Dawn (the `webgpu` package) reports on this machine: the adapter for each power preference, with
// its info, whether it is a software one, and the limits that matter for training. One JSON object on
// stdout; exit 0 when a hardware adapter is found, 3 when only a software one, 4 when none.
//
//   node bench/lib/dawn-adapters.mjs <path of webgpu's index.js>       (used by bench/gpu-check.sh)
import { pathToFileURL } from 'node:url';

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|basic render|\bwarp\b/i;
const index = process.argv[2];
if (index == null) {
  console.error('usage: node bench/lib/dawn-adapters.mjs <path of the webgpu package index.js>');
  process.exit(2);
}
const out = { webgpu: index, env: {}, adapters: {} };
for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'LD_LIBRARY_PATH']) {
  if (process.env[k]) out.env[k] = process.env[k];
}
let dawn;
try {
  dawn = await import(pathToFileURL(index).href);
} catch (e) {
  out.error = `the webgpu package failed to load: ${e.message}`;
  console.log(JSON.stringify(out, null, 2));
  process.exit(4);
}
const gpu = dawn.create([]);
let hardware = false;
let any = false;
for (const powerPreference of ['high-performance', 'low-power']) {
  try {
    const a = await gpu.requestAdapter({ powerPreference });
    if (a == null) {
      out.adapters[powerPreference] = null;
      continue;
    }
    const i = a.info ?? {};
    const info = {
      vendor: i.vendor,
      architecture: i.architecture,
      device: i.device,
      description: i.description,
      isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter ?? null,
    };
    info.software =
      info.isFallbackAdapter === true ||
      info.architecture === 'software' ||
      SOFTWARE.test(`${info.description} ${info.device}`);
    info.features = [...a.features].sort();
    info.limits = Object.fromEntries(
      [
        'maxBufferSize',
        'maxStorageBufferBindingSize',
        'maxComputeWorkgroupStorageSize',
        'maxComputeInvocationsPerWorkgroup',
        'maxComputeWorkgroupsPerDimension',
      ].map((k) => [k, a.limits[k]]),
    );
    out.adapters[powerPreference] = info;
    any = true;
    if (!info.software) hardware = true;
  } catch (e) {
    out.adapters[powerPreference] = { error: e.message };
  }
}
console.log(JSON.stringify(out, null, 2));
process.exit(hardware ? 0 : any ? 3 : 4);
