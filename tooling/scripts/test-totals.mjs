#!/usr/bin/env node
// Sums the vitest JSON reports (test-results.json) of every workspace package and prints the suite
// totals as one line, `N passed, N failed, N skipped`, for CI. A package with a `test` script but no
// report (its test task failed before reporting, or never ran because turbo stopped) counts as one
// failure, so the line cannot look complete when it is not.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const SKIP = new Set(['node_modules', '.git', '.turbo', 'dist']);

function* reports(dir) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* reports(path);
    else if (name === 'test-results.json') yield path;
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const path of reports(root)) {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(
      `  ${relative(root, path)}: ${r.numPassedTests ?? 0} passed, ${r.numFailedTests ?? 0} failed`,
    );
  } catch (err) {
    failed += 1;
    console.log(`  ${relative(root, path)}: unreadable (${err.message})`);
  }
}
for (const group of ['packages', 'apps', 'tooling']) {
  if (!existsSync(join(root, group))) continue;
  for (const name of readdirSync(join(root, group))) {
    const manifest = join(root, group, name, 'package.json');
    if (!existsSync(manifest)) continue;
    const scripts = JSON.parse(readFileSync(manifest, 'utf8')).scripts ?? {};
    if (scripts.test && !existsSync(join(root, group, name, 'test-results.json'))) {
      failed += 1;
      console.log(`  ${group}/${name}: no test-results.json (its tests did not run or did not finish)`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
