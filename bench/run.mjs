#!/usr/bin/env node
// Benchmark dispatcher: node bench/run.mjs <name> [flags]   (pnpm bench <name> [flags] builds first)
// Each benchmark module exports `description`, `options` (node:util parseArgs spec, each with a
// `help` line) and `run(values)`.
import { parseArgs } from 'node:util';

const BENCHMARKS = {
  optimizer: () => import('./optimizer.mjs'),
  train: () => import('./train.mjs'),
  hessian: () => import('./hessian.mjs'),
  'queue-load': () => import('./queue-load.mjs'),
};

function usage(name, mod) {
  const lines = [`usage: node bench/run.mjs ${name} [flags]`, '', mod.description, '', 'flags:'];
  for (const [flag, spec] of Object.entries(mod.options)) {
    const arg = spec.type === 'string' ? ' <value>' : '';
    const def = spec.default !== undefined ? ` (default ${JSON.stringify(spec.default)})` : '';
    lines.push(`  --${flag}${arg}`.padEnd(32) + `${spec.help ?? ''}${def}`);
  }
  lines.push('  --help'.padEnd(32) + 'this text');
  return lines.join('\n');
}

const known = Object.keys(BENCHMARKS);
const [name, ...args] = process.argv.slice(2);
if (name == null || name === '--help' || name === '-h') {
  console.log(`usage: node bench/run.mjs <benchmark> [flags]\nknown benchmarks: ${known.join(', ')}`);
  process.exit(name == null ? 1 : 0);
}
const load = Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
if (load == null) {
  console.error(`unknown benchmark '${name}'; known benchmarks: ${known.join(', ')}`);
  process.exit(2);
}
const mod = await load();
const options = { help: { type: 'boolean' } };
for (const [flag, spec] of Object.entries(mod.options)) {
  options[flag] = { type: spec.type, ...(spec.default !== undefined ? { default: spec.default } : {}) };
}
let values;
try {
  ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
} catch (e) {
  console.error(`${e.message}\n\n${usage(name, mod)}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage(name, mod));
  process.exit(0);
}
try {
  await mod.run(values);
} catch (e) {
  console.error(e?.usage ? `bench ${name}: ${e.message}` : e);
  process.exit(e?.usage ? 2 : 1);
}
