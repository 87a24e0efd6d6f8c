import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('db/patch-postgres-js.mjs (postinstall)', () => {
  it('has changed every flavour of postgres.js the deployer loads', () => {
    const root = fileURLToPath(new URL('../../node_modules/postgres', import.meta.url));
    for (const flavour of ['src', 'cjs/src']) {
      const text = readFileSync(join(root, flavour, 'connection.js'), 'utf8');
      expect(text, `${flavour}/connection.js: run npm install (postinstall mends it)`).toContain('/* deployer: mended write timer */');
      expect(text.match(/nextWriteTimer = chunk = null/g)).toHaveLength(2);
      expect(text).toContain('/* deployer: forget the farewell */');
      expect(readFileSync(join(root, flavour, 'index.js'), 'utf8')).toContain('/* deployer: reservation kept while reconnecting */');
      expect(text, `${flavour}/connection.js: run npm install (postinstall changes it)`).toContain('/* deployer: one write per tick */\n    if (fn || chunk.length >= 65536)');
    }
  });
});
