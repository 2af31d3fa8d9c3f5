/**
 * A scratch copy of the workspace to version and publish from: the root manifests, the changesets and
 * every workspace package (built output included; node_modules, caches and test reports left out), so
 * `changeset version` and `changeset publish` change nothing in the checkout.
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const ROOT_FILES = [
  'package.json',
  'pnpm-workspace.yaml',
  'pnpm-lock.yaml',
  '.pnpmfile.cjs',
  'LICENSE',
  '.changeset',
];
const LEFT_OUT = new Set(['node_modules', '.turbo', 'test-results.json', 'coverage']);
const GROUPS = ['packages', 'apps', 'tooling'];

export interface WorkspacePackage {
  name: string;
  dir: string;
  version: string;
  private: boolean;
}

export function copyWorkspace(root: string, dest: string): void {
  for (const f of ROOT_FILES) cpSync(join(root, f), join(dest, f), { recursive: true });
  for (const group of GROUPS)
    for (const name of readdirSync(join(root, group))) {
      const from = join(root, group, name);
      if (!existsSync(join(from, 'package.json'))) continue;
      cpSync(from, join(dest, group, name), {
        recursive: true,
        filter: (src) => !LEFT_OUT.has(basename(src)),
      });
    }
}

export function workspacePackages(root: string): WorkspacePackage[] {
  const out: WorkspacePackage[] = [];
  for (const group of GROUPS)
    for (const name of readdirSync(join(root, group))) {
      const file = join(root, group, name, 'package.json');
      if (!existsSync(file)) continue;
      const p = JSON.parse(readFileSync(file, 'utf8'));
      out.push({
        name: p.name,
        dir: join(root, group, name),
        version: p.version,
        private: p.private === true,
      });
    }
  return out;
}

/**
 * npm provenance needs the OIDC token of a CI provider (GitHub Actions in the release workflow); a
 * rehearsal has none, so its copies publish without it. Returns the packages changed.
 */
export function withoutProvenance(packages: WorkspacePackage[]): string[] {
  const changed: string[] = [];
  for (const p of packages) {
    const file = join(p.dir, 'package.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    if (m.publishConfig?.provenance === undefined) continue;
    delete m.publishConfig.provenance;
    writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
    changed.push(p.name);
  }
  return changed;
}
