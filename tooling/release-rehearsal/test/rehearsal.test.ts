// Release rehearsal: the changesets versioned and published to a real npm registry (Verdaccio on
// 127.0.0.1), then installed from it into empty projects with npm and with pnpm, as users would, on
// Node 20 (this process's), 22 and 24 (the `node` npm package). Nothing in the checkout changes: the
// versioning happens in a scratch copy of the workspace.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, forgetNpxInstalls, run, runOk } from '../src/commands';
import { CONSUMER_CJS, CONSUMER_MJS, TRAINED } from '../src/consumer';
import { copyWorkspace, withoutProvenance, workspacePackages } from '../src/scratch-workspace';
import { findVerdaccio, type Registry, startVerdaccio } from '../src/verdaccio';

const ROOT = resolve(import.meta.dirname, '../../..');
const VERDACCIO = findVerdaccio();
const REQUIRED = process.env.BMP_REQUIRE_REGISTRY === '1';
const FIRST_RELEASE = '0.1.0';
const TFJS = '@tensorflow/tfjs@4.22.0';
const OTHER_NODES = ['22', '24'];
const TINY_COMPARE = [
  '--epochs',
  '1',
  '--max-train-samples',
  '512',
  '--max-test-samples',
  '256',
  '--log-dir',
  'runs',
];

// Without verdaccio the rehearsal skips, unless BMP_REQUIRE_REGISTRY=1 (CI): then it fails.
describe.skipIf(VERDACCIO == null && !REQUIRED)('release rehearsal on a local registry', () => {
  let work = '';
  let scratch = '';
  let registry: Registry;
  /** npm, pnpm and node of this machine, with a pnpm that runs the workspace's version when none is on PATH. */
  let env: NodeJS.ProcessEnv;
  const published = workspacePackages(ROOT).filter((p) => !p.private);

  beforeAll(async () => {
    if (VERDACCIO == null)
      throw new Error(
        'BMP_REQUIRE_REGISTRY=1 but no verdaccio: set BMP_VERDACCIO to its executable or put it on PATH',
      );
    work = mkdtempSync(join(tmpdir(), 'bmp-release-'));
    registry = await startVerdaccio(VERDACCIO!, join(work, 'registry'));
    env = cleanEnv({ PATH: `${await pnpmBin(work)}${delimiter}${process.env.PATH}` });
  });
  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** An empty project whose @bmp packages come from the rehearsal registry (the rest from upstream). */
  function project(name: string): string {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, '.npmrc'), scopedNpmrc(registry));
    return dir;
  }

  it(`changeset version gives the first release, ${FIRST_RELEASE}, with a CHANGELOG in every published package`, async () => {
    scratch = join(work, 'workspace');
    copyWorkspace(ROOT, scratch);
    await runOk('node', [join(ROOT, 'node_modules/@changesets/cli/bin.js'), 'version'], {
      cwd: scratch,
      env,
    });
    const versioned = workspacePackages(scratch).filter((p) => !p.private);
    expect(versioned.map((p) => p.name).sort()).toEqual(published.map((p) => p.name).sort());
    for (const p of versioned) {
      expect(p.version, p.name).toBe(FIRST_RELEASE);
      expect(readFileSync(join(p.dir, 'CHANGELOG.md'), 'utf8'), p.name).toContain(`## ${FIRST_RELEASE}`);
    }
    // every changeset was consumed
    expect(
      readdirSync(join(scratch, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md'),
    ).toEqual([]);
  });

  it('changeset publish puts every published package on the registry, each tarball with the LICENSE', async () => {
    expect(scratch).not.toBe('');
    withoutProvenance(workspacePackages(scratch));
    writeFileSync(join(scratch, '.npmrc'), scopedNpmrc(registry));
    // pnpm publish resolves `workspace:` ranges through the installed workspace (links only: no scripts)
    await runOk('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--ignore-scripts'], {
      cwd: scratch,
      env,
    });
    await runOk('node', [join(ROOT, 'node_modules/@changesets/cli/bin.js'), 'publish', '--no-git-tag'], {
      cwd: scratch,
      env,
      timeoutMs: 5 * 60_000,
    });
    for (const p of published) {
      const meta = (await (await fetch(`${registry.url}${p.name.replace('/', '%2f')}`)).json()) as {
        'dist-tags': Record<string, string>;
        versions: Record<string, { dist: { tarball: string }; dependencies?: Record<string, string> }>;
      };
      expect(meta['dist-tags']?.latest, p.name).toBe(FIRST_RELEASE);
      const manifest = meta.versions[FIRST_RELEASE];
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {}))
        expect(range, `${p.name} -> ${dep}`).not.toMatch(/^workspace:/);
      const tarball = gunzipSync(Buffer.from(await (await fetch(manifest.dist.tarball)).arrayBuffer()));
      expect(tarball.includes('package/LICENSE'), `${p.name}: LICENSE in the tarball`).toBe(true);
    }
  });

  it('npx @bmp/trainer compare runs a tiny comparison in an empty directory', async () => {
    const dir = project('npx-trainer');
    forgetNpxInstalls('@bmp/trainer');
    const r = await runOk(
      'npx',
      ['-y', `@bmp/trainer@${FIRST_RELEASE}`, 'compare', ...TINY_COMPARE, '--run-name', 'tiny'],
      {
        cwd: dir,
        env,
        timeoutMs: 6 * 60_000,
      },
    );
    expect(r.stdout + r.stderr).toMatch(/final test error/);
    expect(r.stdout).toMatch(/viewer: npx @bmp\/viewer --log-dir /);
    expectCompleted(dir, `${process.version.split('.')[0]}.`);
  });

  it(`npm: an empty project installs @bmp/optimizer, @bmp/trainer and ${TFJS}; trains from ESM and CommonJS and runs bmp-train on Node 20, ${OTHER_NODES.join(' and ')}`, async () => {
    const dir = project('npm');
    writeFileSync(join(dir, 'package.json'), '{ "name": "consumer", "private": true }\n');
    await runOk(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        // the registry's metadata, not a cached copy from an earlier rehearsal of the same version
        '--prefer-online',
        `@bmp/optimizer@${FIRST_RELEASE}`,
        `@bmp/trainer@${FIRST_RELEASE}`,
        TFJS,
      ],
      // the lockfile says where each package came from
      {
        cwd: dir,
        env: { ...env, npm_config_omit_lockfile_registry_resolved: 'false' },
        timeoutMs: 6 * 60_000,
      },
    );
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    for (const name of ['@bmp/optimizer', '@bmp/trainer', '@bmp/hessian'])
      expect(lock.packages[`node_modules/${name}`].resolved, name).toMatch(new RegExp(`^${registry.url}`));
    writeFileSync(join(dir, 'consumer.mjs'), CONSUMER_MJS);
    writeFileSync(join(dir, 'consumer.cjs'), CONSUMER_CJS);
    for (const file of ['consumer.mjs', 'consumer.cjs'])
      expect((await runOk('node', [file], { cwd: dir, env })).stdout).toMatch(TRAINED);
    const cli = join('node_modules', '@bmp', 'trainer', 'dist', 'cli.js');
    for (const v of OTHER_NODES)
      expect(
        (await runOk('npx', ['-y', '-p', `node@${v}`, 'node', 'consumer.mjs'], { cwd: dir, env })).stdout,
      ).toMatch(new RegExp(`^esm v${v}\\.`, 'm'));
    // bmp-train with the native kernels the tarball brought (a prebuild: nothing compiled at install), at
    // the CPU's best instruction set on every Node version, and forced down to AVX2 on this one and on 24
    const thisNode = process.version.slice(1).split('.')[0];
    const runs: Array<{ node: string; isa?: string }> = [
      ...[thisNode, ...OTHER_NODES].map((node) => ({ node })),
      { node: thisNode, isa: 'avx2' },
      { node: '24', isa: 'avx2' },
    ];
    const results = [];
    for (const r of runs) {
      const logDir = `runs-node${r.node}${r.isa ? `-${r.isa}` : ''}`;
      const node = r.node === thisNode ? ['node'] : ['npx', '-y', '-p', `node@${r.node}`, 'node'];
      await runOk(
        node[0],
        [...node.slice(1), cli, 'compare', ...TINY_COMPARE.slice(0, -1), logDir, '--run-name', 'tiny'],
        {
          cwd: dir,
          env: r.isa ? { ...env, BMP_NATIVE_ISA: r.isa } : env,
        },
      );
      expectCompleted(dir, `v${r.node}.`, logDir);
      results.push({ ...r, runs: nativeRuns(join(dir, logDir, 'tiny')) });
    }
    const [reference] = results;
    for (const { node, isa, runs: got } of results)
      for (const [run, ref] of reference.runs) {
        const x = got.get(run)!;
        console.log(
          `Node ${node}, ${x.isa}${isa ? ' (BMP_NATIVE_ISA)' : ''}: ${run} final train loss ${x.trainLoss}`,
        );
        if (isa) expect(x.isa, `${run} on Node ${node}`).toBe(isa);
        else expect(x.isa, `${run} on Node ${node}`).toBe(ref.isa);
        // backends-native README: the variants agree to about 1e-4 in a training loss (avx2 and avx512
        // gave the same bits with GCC 12); the bound leaves room for the release build's compiler
        expect(
          Math.abs(x.trainLoss - ref.trainLoss) / ref.trainLoss,
          `${run}: ${ref.isa} ${ref.trainLoss} on Node ${thisNode} vs ${x.isa} ${x.trainLoss} on Node ${node}`,
        ).toBeLessThan(1e-3);
      }
  });

  it('pnpm: an empty project adds the packages from the registry, trains, and runs bmp-train and bmp-viewer', async () => {
    const dir = project('pnpm');
    writeFileSync(join(dir, 'package.json'), '{ "name": "consumer", "private": true }\n');
    await runOk(
      'pnpm',
      [
        'add',
        `@bmp/optimizer@${FIRST_RELEASE}`,
        `@bmp/trainer@${FIRST_RELEASE}`,
        `@bmp/viewer@${FIRST_RELEASE}`,
        TFJS,
      ],
      { cwd: dir, env, timeoutMs: 6 * 60_000 },
    );
    writeFileSync(join(dir, 'consumer.mjs'), CONSUMER_MJS);
    expect((await runOk('node', ['consumer.mjs'], { cwd: dir, env })).stdout).toMatch(TRAINED);
    const r = await runOk('pnpm', ['exec', 'bmp-train', 'compare', ...TINY_COMPARE, '--run-name', 'tiny'], {
      cwd: dir,
      env,
    });
    expect(r.stdout + r.stderr).toMatch(/final test error/);
    expect(JSON.parse(readFileSync(join(dir, 'runs', 'tiny', 'compare.json'), 'utf8')).status).toBe(
      'completed',
    );
    // pnpm 10 runs no dependency's build script: the native kernels are the package's prebuilds
    expect(nativeRuns(join(dir, 'runs', 'tiny')).size).toBe(2);
    // the viewer's bin serves its built page and the runs just trained
    const viewer = spawn(
      join(dir, 'node_modules', '.bin', 'bmp-viewer'),
      ['--log-dir', 'runs', '--port', '0'],
      {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const url = await new Promise<string>((res, rej) => {
        let out = '';
        const t = setTimeout(
          () => rej(new Error(`bmp-viewer printed no address within 30 s:\n${out}`)),
          30_000,
        );
        const read = (c: Buffer) => {
          out += c;
          const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) {
            clearTimeout(t);
            res(m[1]);
          }
        };
        viewer.stdout.on('data', read);
        viewer.stderr.on('data', read);
      });
      expect(await (await fetch(url)).text()).toMatch(/<html/i);
      const runs = await (await fetch(`${url}api/runs`)).text();
      expect(runs).toContain('tiny');
    } finally {
      viewer.kill('SIGTERM');
    }
  });
});

/** The tiny comparison in <dir>/<logDir>/tiny completed, each run on the Node.js version given. */
function expectCompleted(dir: string, nodeVersion: string, logDir = 'runs'): void {
  const compareDir = join(dir, logDir, 'tiny');
  expect(JSON.parse(readFileSync(join(compareDir, 'compare.json'), 'utf8')).status).toBe('completed');
  const runs = readdirSync(compareDir).filter((f) => existsSync(join(compareDir, f, 'config.json')));
  expect(runs).toHaveLength(2);
  for (const run of runs) {
    const config = JSON.parse(readFileSync(join(compareDir, run, 'config.json'), 'utf8'));
    expect(config.versions.node.startsWith(nodeVersion), `${run}: Node ${config.versions.node}`).toBe(true);
  }
}

/** Per run of a comparison: the native variant, the Node.js version and the last training loss. */
function nativeRuns(compareDir: string): Map<string, { isa: string; node: string; trainLoss: number }> {
  const out = new Map<string, { isa: string; node: string; trainLoss: number }>();
  for (const run of readdirSync(compareDir).filter((f) => existsSync(join(compareDir, f, 'config.json')))) {
    const config = JSON.parse(readFileSync(join(compareDir, run, 'config.json'), 'utf8'));
    const epochs = readFileSync(join(compareDir, run, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"epoch"'))
      .map((l) => JSON.parse(l) as { trainLoss: number });
    const isa = config.device?.native?.isa;
    if (typeof isa !== 'string')
      throw new Error(`${run}: config.json records no native kernels (${config.device?.label})`);
    out.set(run, { isa, node: config.versions.node, trainLoss: epochs[epochs.length - 1].trainLoss });
  }
  return out;
}

/** `@bmp` from the rehearsal registry (with the publishing token), everything else from upstream. */
function scopedNpmrc(registry: Registry): string {
  const host = registry.url.replace(/^http:/, '');
  return `@bmp:registry=${registry.url}\n${host}:_authToken=${registry.token}\n`;
}

/** A directory with `pnpm` in it: none when pnpm is on PATH, else a shim running the workspace's pnpm. */
async function pnpmBin(work: string): Promise<string> {
  const onPath = await run('pnpm', ['--version'], { cwd: work }).catch(() => null);
  const wanted = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).packageManager.split('@')[1];
  if (onPath?.code === 0 && onPath.stdout.trim() === wanted) return '';
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'pnpm'), `#!/bin/sh\nexec npx -y pnpm@${wanted} "$@"\n`, { mode: 0o755 });
  return bin;
}
