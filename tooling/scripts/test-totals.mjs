#!/usr/bin/env node
// Sums the vitest JSON reports (test-results.json) of every workspace package and prints the suite
// totals as one line, `N passed, N failed, N skipped`, for CI.
import { readdirSync, readFileSync, statSync } from 'node:fs';
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
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
