/** docs/design.md names files and folders of this repository: each one must exist, so the map does not rot. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/server-process.ts';

describe('docs/design.md', () => {
  const text = readFileSync(join(REPO_ROOT, 'docs/design.md'), 'utf8');
  const cited = [...new Set([...text.matchAll(/`((?:server|db|sdk|openapi|test|docs)\/[^`<>*\s]*)`/g)].map((m) => m[1]!))];

  it('cites repository paths', () => {
    expect(cited.length).toBeGreaterThan(30);
  });

  it.each(cited)('%s exists', (path) => {
    expect(existsSync(join(REPO_ROOT, path))).toBe(true);
  });

  it('is linked from the README', () => {
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain('(docs/design.md)');
  });
});
