import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');

describe('README.md', () => {
  it('is the concatenation of its parts named in the "readme" script (run it after editing a part)', () => {
    const script: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.readme;
    const match = /^cat ((?:README\.[\w.-]+\.md ?)+)> README\.md$/.exec(script);
    expect(match, script).not.toBeNull();
    const parts = match![1].trim().split(/\s+/);
    expect(parts).toContain('README.claims.md');
    const joined = parts.map((p) => readFileSync(join(root, p), 'utf8')).join('');
    expect(readFileSync(join(root, 'README.md'), 'utf8') === joined, 'README.md is stale: pnpm readme').toBe(
      true,
    );
  });
});
