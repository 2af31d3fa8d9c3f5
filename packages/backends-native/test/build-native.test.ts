// scripts/build-native.mjs as npm runs it at install, in a copy laid out like the installed package (no
// src/index.ts): with a prebuild that fits it compiles nothing; with one whose manifest does not fit it
// does not use it and goes to compile (here with no compiler on PATH, so it stops there and says why,
// exit 0, or 1 with BMP_REQUIRE_NATIVE=1). No compiler runs, so this takes well under a second.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { hostTarget, prebuildDirName } from '../scripts/native-target.mjs';
import { packageDir } from '../src';
import { nativeDescribe, nativeLoad } from './native';

const describeNative = nativeDescribe('build-native tests');
const PREBUILDS = join('prebuilds', prebuildDirName(hostTarget()));
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** The installed package's files: scripts, C++ sources, prebuilds (no src/index.ts, no build/). */
function installedCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bmp-build-native-'));
  temps.push(dir);
  for (const part of ['scripts', join('src', 'native'), 'package.json']) {
    cpSync(join(packageDir, part), join(dir, part), { recursive: true });
  }
  cpSync(join(packageDir, nativeLoad.choice!.source), join(dir, PREBUILDS), { recursive: true });
  return dir;
}

/** Runs the install script with no compiler reachable (empty PATH, no $CXX). */
function install(dir: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs')], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: join(dir, 'no-such-bin'), ...env },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describeNative('build-native.mjs at install', () => {
  it('a prebuild that fits: nothing compiled', () => {
    const dir = installedCopy();
    const r = install(dir);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/prebuilt kernels for \S+ fit \(baseline[^)]*\); nothing to compile/);
    expect(existsSync(join(dir, 'build'))).toBe(false);
  });

  it('a manifest that does not fit: not used, a compile is tried (and without a compiler, says so)', () => {
    const dir = installedCopy();
    const file = join(dir, PREBUILDS, 'manifest.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), platform: 'darwin' }));
    const r = install(dir);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/no prebuilt kernels fit \(.*built for platform darwin.*\); compiling/);
    expect(r.output).toMatch(/no C\+\+ compiler found .*WebAssembly kernels instead/);
    const required = install(dir, { BMP_REQUIRE_NATIVE: '1' });
    expect(required.status).toBe(1);
    expect(required.output).toMatch(/BMP_REQUIRE_NATIVE=1, so this is an error/);
  });
});
