import { describe, expect, it } from 'vitest';
import { DomainError, ValidationError } from '../domain/errors.ts';
import { APP_CONFIG_PATHS, parseAppConfig, readAppConfig } from './app-config.ts';
import type { DirectoryEntry, Repo } from './client.ts';

const repo: Repo = { owner: 'octo', repo: 'shop' };
const commit = 'abcdef0123456789abcdef0123456789abcdef01';
const app = (name: string) => `name: ${name}\nruntimes:\n  - name: api\n    containers:\n      - name: main\n        image: { name: ${name} }\n`;

/** The files of one commit, read the way the GitHub client reads them; `reads` records every call. */
function files(tree: Record<string, string>) {
  const reads: string[] = [];
  return {
    reads,
    async listDirectory(_repo: Repo, path: string): Promise<DirectoryEntry[] | null> {
      reads.push(`list ${path}`);
      const entries = Object.keys(tree).filter((p) => p.startsWith(`${path}/`));
      return entries.length ? entries.map((p) => ({ name: p.split('/').pop()!, path: p, type: 'file' as const })) : null;
    },
    async readFile(_repo: Repo, path: string): Promise<string | null> {
      reads.push(`read ${path}`);
      return tree[path] ?? null;
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

describe('reading the application config at a commit', () => {
  it('takes the first existing of ext/o5/app.yaml, ext/o5/app.yml, o5.yaml, o5.yml', async () => {
    expect(APP_CONFIG_PATHS).toEqual(['ext/o5/app.yaml', 'ext/o5/app.yml', 'o5.yaml', 'o5.yml']);
    const root = files({ 'o5.yaml': app('root'), 'o5.yml': app('other') });
    expect(await readAppConfig(root, repo, commit)).toMatchObject({ path: 'o5.yaml', application: { name: 'root' } });
    expect(root.reads).toEqual(['list ext/o5', 'read o5.yaml']);

    const ext = files({ 'ext/o5/app.yml': app('ext'), 'ext/o5/README.md': '# docs', 'o5.yaml': app('root') });
    expect(await readAppConfig(ext, repo, commit)).toMatchObject({ path: 'ext/o5/app.yml', application: { name: 'ext' } });
    expect(ext.reads).toEqual(['list ext/o5', 'read ext/o5/app.yml']);
  });

  it('refuses several configs in ext/o5/ as several applications', async () => {
    const err = await failure(readAppConfig(files({ 'ext/o5/app.yaml': app('a'), 'ext/o5/b.json': '{}' }), repo, commit));
    expect(err.kind).toBe('unprocessable');
    expect(err.message).toBe(
      'ext/o5/ in octo/shop@abcdef0 holds 2 application configs (ext/o5/app.yaml, ext/o5/b.json); the deployer deploys one application per repository: keep one of them as ext/o5/app.yaml',
    );
  });

  it('says what it looked for when there is no config', async () => {
    const err = await failure(readAppConfig(files({ 'README.md': '' }), repo, commit));
    expect(err.kind).toBe('unprocessable');
    expect(err.message).toBe('no application config in octo/shop@abcdef0: looked for ext/o5/app.yaml, ext/o5/app.yml, o5.yaml, o5.yml');
  });
});

describe('parsing a config file', () => {
  it('keeps the paths into the file and names the file', () => {
    try {
      parseAppConfig('name: Shop\nruntimes: []\nextra: 1\n', 'o5.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).message).toMatch(/^o5\.yaml is not a valid application config: /);
      expect((err as ValidationError).issues).toEqual(
        expect.arrayContaining([
          { path: 'name', message: expect.stringContaining('lowercase') },
          { path: 'extra', message: expect.stringMatching(/^Unknown field "extra"; the fields here are: /) },
        ]),
      );
    }
  });

  it('refuses several YAML documents, and text that does not parse', () => {
    expect(() => parseAppConfig(`${app('a')}---\n${app('b')}`, 'o5.yaml')).toThrow('o5.yaml holds 2 YAML documents');
    expect(() => parseAppConfig('name: [', 'o5.yml')).toThrow(/^o5\.yml does not parse: Malformed YAML at line 1/);
  });

  it('refuses a config nested thousands deep with where, before anything recurses into it', () => {
    // The document count was taken with the yaml package's recursive composer: this text took the
    // whole process down (V8's fatal "RegExpCompiler Allocation failed"), from a file in any repo.
    expect(() => parseAppConfig('['.repeat(3000), 'o5.yaml')).toThrow(/^o5\.yaml does not parse: Malformed YAML at line 1, column \d+: Nested deeper than 64 levels/);
    expect(() => parseAppConfig(`${app('a')}---\n${'- '.repeat(3000)}x\n`, 'o5.yaml')).toThrow(/o5\.yaml does not parse: .*Nested deeper/);
  });
});
