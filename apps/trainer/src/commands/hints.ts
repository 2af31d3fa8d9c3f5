/**
 * The commands the CLI suggests after a run: `pnpm ...` inside the bmp repository (where the CLI runs
 * from apps/trainer/dist), `npx @bmp/...` where it was installed from npm.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Whether this CLI is apps/trainer/dist/cli.js of a bmp checkout (the workspace file two levels up). */
function inRepository(cli = process.argv[1] ?? ''): boolean {
  const root = resolve(dirname(cli), '..', '..', '..');
  return existsSync(join(root, 'pnpm-workspace.yaml')) && existsSync(join(root, 'apps', 'viewer'));
}

export function viewerCommand(logDir: string, cli?: string): string {
  return inRepository(cli) ? `pnpm viewer --log-dir ${logDir}` : `npx @bmp/viewer --log-dir ${logDir}`;
}

export function trainerCommand(args: string, cli?: string): string {
  return inRepository(cli) ? `pnpm bmp-train ${args}` : `npx @bmp/trainer ${args}`;
}
