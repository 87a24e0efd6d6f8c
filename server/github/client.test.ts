/** The GitHub client over HTTP: App installation sign-in, GitHub Enterprise paths, errors. */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from '../../test/support/fake-github.ts';
import { NotFoundError } from '../domain/errors.ts';
import { createLogger } from '../logger.ts';
import { GitHubApiError, GitHubClient, createOctokit, truncate } from './client.ts';
import { githubSettingsOf } from './github-config.ts';

const logger = createLogger('silent', { pretty: false });
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKeyPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('GitHub client', () => {
  let github: FakeGitHub;
  let sha: string;

  beforeAll(async () => {
    github = await startFakeGitHub({ token: 'ghp_plain', app: { appId: '4242', installationId: '77', publicKeyPem } });
    sha = github.repo('octo', 'shop').commit({ 'ext/o5/app.yaml': 'name: shop\n', 'ext/o5/notes/a.md': '' }, { branch: 'main' });
  });
  afterAll(() => github?.close());

  it('signs in as a GitHub App installation: a signed JWT for an installation token, then the token', async () => {
    const settings = githubSettingsOf({ appId: '4242', appPrivateKey: Buffer.from(privateKey).toString('base64'), appInstallationId: '77', apiUrl: github.url })!;
    const client = new GitHubClient(createOctokit(settings, logger));
    expect(await client.resolveCommit({ owner: 'octo', repo: 'shop' }, 'main')).toBe(sha);
    expect(await client.readFile({ owner: 'octo', repo: 'shop' }, 'ext/o5/app.yaml', sha)).toBe('name: shop\n');

    const [exchange, ...calls] = github.requests.splice(0);
    expect(exchange).toMatchObject({ method: 'POST', path: '/app/installations/77/access_tokens', authorization: expect.stringMatching(/^bearer /i) });
    expect(calls.map((c) => c.authorization)).toEqual([expect.stringMatching(/^token ghs_installation_/), expect.stringMatching(/^token ghs_installation_/)]);
  });

  it('calls GitHub Enterprise under its API path', async () => {
    const client = new GitHubClient(createOctokit(githubSettingsOf({ token: 'ghp_plain', apiUrl: `${github.url}/api/v3` })!, logger));
    const entries = await client.listDirectory({ owner: 'octo', repo: 'shop' }, 'ext/o5', sha);
    expect(entries).toEqual([
      { name: 'app.yaml', path: 'ext/o5/app.yaml', type: 'file' },
      { name: 'notes', path: 'ext/o5/notes', type: 'dir' },
    ]);
    expect(github.requests.splice(0).map((r) => r.path)).toEqual(['/api/v3/repos/octo/shop/contents/ext%2Fo5']);
  });

  it('tells missing things from failures', async () => {
    const client = new GitHubClient(createOctokit(githubSettingsOf({ token: 'ghp_plain', apiUrl: github.url })!, logger));
    const repo = { owner: 'octo', repo: 'shop' };
    expect(await client.readFile(repo, 'nope.yaml', sha)).toBeNull();
    expect(await client.listDirectory(repo, 'nope', sha)).toBeNull();
    await expect(client.resolveCommit(repo, 'nope')).rejects.toBeInstanceOf(NotFoundError);

    github.failNext('GET', /\/contents\//, 503);
    const down = await client.readFile(repo, 'o5.yaml', sha).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(GitHubApiError);
    expect(down).toMatchObject({ status: 503, retryable: true });

    const refused = await client.createDeployment(repo, { commit: 'f'.repeat(40), environment: 'prod', description: 'x', payload: {} }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 422, retryable: false, message: expect.stringContaining('No ref found') });
  });

  it('truncates to a length, marking the cut', () => {
    expect(truncate('short', 140)).toBe('short');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });

  it('never cuts a character outside the BMP in half (GitHub refuses a lone surrogate)', () => {
    const cut = truncate(`${'a'.repeat(138)}🚀 rest`, 140);
    expect(cut).toBe(`${'a'.repeat(138)}…`);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(truncate(`${'a'.repeat(137)}🚀 rest`, 140)).toBe(`${'a'.repeat(137)}🚀…`);
  });
});
