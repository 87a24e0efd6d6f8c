/**
 * The reporter against a fake GitHub over HTTP and a real database: reports that arrive together,
 * late or twice, and GitHub failing in the middle.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { startFakeGitHub, type FakeGitHub } from '../../test/support/fake-github.ts';
import type { DeploymentData, DeploymentStatus } from '../domain/machines/deployment.ts';
import { createLogger } from '../logger.ts';
import { GitHubClient, GitHubApiError, createOctokit } from './client.ts';
import { GitHubDeploymentReporter } from './status-reporter.ts';

const TOKEN = 'ghp_reporter_test';
const logger = createLogger('silent', { pretty: false });

describe('reporting deployments to GitHub', () => {
  let db: TestDatabase;
  let github: FakeGitHub;
  let reporter: GitHubDeploymentReporter;
  let commit: string;
  let n = 0;

  /** A deployment from GitHub as the status-report job loads it. */
  const deployment = (overrides: Partial<DeploymentData> = {}) => {
    const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const data = {
      deploymentId: id,
      environmentName: 'prod',
      applicationName: 'shop',
      version: commit,
      source: { kind: 'github', github: { owner: 'octo', repo: 'shop', ref: 'main', commit } },
      ...overrides,
    } as DeploymentData;
    return (status: DeploymentStatus) => ({ id, status, data });
  };
  const githubOf = (id: string) => github.deployments.filter((d) => d.payload.deploymentId === id);

  beforeAll(async () => {
    db = await createTestDatabase();
    github = await startFakeGitHub({ token: TOKEN });
    commit = github.repo('octo', 'shop').commit({ 'o5.yaml': 'name: shop' }, { branch: 'main' });
    const client = new GitHubClient(createOctokit({ auth: { kind: 'token', token: TOKEN }, apiUrl: github.url }, logger));
    reporter = new GitHubDeploymentReporter({ sql: db.sql, github: client, publicUrl: 'https://deployer.example.com', logger });
  });
  afterAll(async () => {
    await github?.close();
    await db?.drop();
  });
  beforeEach(() => {
    github.deployments.length = 0;
  });

  it('creates one GitHub deployment for reports that arrive together, and never goes backwards', async () => {
    const at = deployment();
    await Promise.all((['QUEUED', 'TRIGGERED', 'RUNNING', 'DONE'] as const).map((s) => reporter.reportStatus(at(s), s)));
    const [only, ...more] = githubOf(at('DONE').id);
    expect(more).toEqual([]);
    expect(only).toMatchObject({ ref: commit, environment: 'prod', auto_merge: false, required_contexts: [] });
    const order = ['queued', 'in_progress', 'success'];
    const states = only!.statuses.map((s) => order.indexOf(s.state));
    expect(states).toEqual([...states].sort());
    expect(only!.statuses.at(-1)).toMatchObject({ state: 'success', log_url: `https://deployer.example.com/v1/deployments/${at('DONE').id}` });

    const count = only!.statuses.length;
    await reporter.reportStatus(at('QUEUED'), 'QUEUED');
    await reporter.reportStatus(at('DONE'), 'DONE');
    expect(only!.statuses).toHaveLength(count);
  });

  it('reports each step of a deployment that moves one status at a time', async () => {
    const at = deployment({ error: 'Step CF.Update: stack rolled back' });
    for (const s of ['QUEUED', 'TRIGGERED', 'WAITING', 'AVAILABLE', 'RUNNING', 'FAILED'] as const) await reporter.reportStatus(at(s), s);
    expect(githubOf(at('FAILED').id)[0]!.statuses.map((s) => [s.state, s.description])).toEqual([
      ['queued', `Queued: shop ${commit.slice(0, 7)} to prod`],
      ['in_progress', `Waiting for the stack: shop ${commit.slice(0, 7)} to prod`],
      ['in_progress', `Waiting for the stack: shop ${commit.slice(0, 7)} to prod`],
      ['in_progress', `Deploying shop ${commit.slice(0, 7)} to prod`],
      ['in_progress', `Deploying shop ${commit.slice(0, 7)} to prod`],
      ['failure', 'Step CF.Update: stack rolled back'],
    ]);
  });

  it('an evaluated deployment waiting for approval is `pending` (GitHub takes no `waiting`), then its end', async () => {
    const at = deployment({ evaluation: { strategy: 'BEFORE' } as DeploymentData['evaluation'] });
    for (const s of ['QUEUED', 'RUNNING', 'EVALUATED', 'RUNNING', 'DONE'] as const) await reporter.reportStatus(at(s), s);
    expect(githubOf(at('DONE').id)[0]!.statuses.map((s) => [s.state, s.description])).toEqual([
      ['queued', `Queued: shop ${commit.slice(0, 7)} to prod`],
      ['in_progress', `Deploying shop ${commit.slice(0, 7)} to prod`],
      ['pending', `Waiting for approval (BEFORE): shop ${commit.slice(0, 7)} to prod`],
      ['success', `Deployed shop ${commit.slice(0, 7)} to prod`],
    ]);
  });

  it('cuts a long error to the 140 characters GitHub allows', async () => {
    const at = deployment({ error: `Step DB.Migrate: ${'x'.repeat(300)}` });
    await reporter.reportStatus(at('FAILED'), 'FAILED');
    const description = githubOf(at('FAILED').id)[0]!.statuses[0]!.description!;
    expect(description).toHaveLength(140);
    expect(description.endsWith('…')).toBe(true);
  });

  it('throws when GitHub is down, so the job retries, and the retry creates no second deployment', async () => {
    const at = deployment();
    github.failNext('POST', /\/statuses$/, 502);
    const err = await reporter.reportStatus(at('QUEUED'), 'QUEUED').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect((err as GitHubApiError).retryable).toBe(true);
    expect(githubOf(at('QUEUED').id)).toHaveLength(1);

    await reporter.reportStatus(at('QUEUED'), 'QUEUED');
    expect(githubOf(at('QUEUED').id)).toHaveLength(1);
    expect(githubOf(at('QUEUED').id)[0]!.statuses.map((s) => s.state)).toEqual(['queued']);
  });

  it('gives up without throwing when GitHub refuses the request itself', async () => {
    const at = deployment({ source: { kind: 'github', github: { owner: 'octo', repo: 'shop', ref: 'gone', commit: 'f'.repeat(40) } } });
    await expect(reporter.reportStatus(at('QUEUED'), 'QUEUED')).resolves.toBeUndefined();
    expect(githubOf(at('QUEUED').id)).toHaveLength(0);
  });

  it('reports nothing for deployments that did not come from GitHub', async () => {
    const at = deployment({ source: { kind: 'api', requestedBy: 'someone' } });
    await reporter.reportStatus(at('DONE'), 'DONE');
    expect(github.deployments).toHaveLength(0);
  });

  it('reports a refused push once, as a failed deployment with the reason', async () => {
    const target = { deploymentId: '00000000-0000-4000-8000-999999999999', owner: 'octo', repo: 'shop', environment: 'prod', commit };
    await reporter.reportRejectedPush(target, 'o5.yaml in octo/shop is not a valid application config: name: Required');
    await reporter.reportRejectedPush(target, 'o5.yaml in octo/shop is not a valid application config: name: Required');
    expect(github.deployments).toHaveLength(1);
    expect(github.deployments[0]!.statuses).toEqual([
      expect.objectContaining({ state: 'failure', description: 'o5.yaml in octo/shop is not a valid application config: name: Required' }),
    ]);
    expect(github.deployments[0]!.statuses[0]!.log_url).toBeUndefined();
  });

  it('gives a push that succeeds on redelivery (the environment exists now) a GitHub deployment of its own', async () => {
    const at = deployment();
    const { id } = at('QUEUED');
    await reporter.reportRejectedPush({ deploymentId: id, owner: 'octo', repo: 'shop', environment: 'prod', commit }, "environment 'prod' does not exist");
    await reporter.reportStatus(at('QUEUED'), 'QUEUED');
    await reporter.reportStatus(at('DONE'), 'DONE');
    expect(githubOf(id).map((d) => [d.description, d.statuses.map((s) => s.state)])).toEqual([
      ['Not deployed: the deployer refused this push', ['failure']],
      [`Deployer deployment ${id}`, ['queued', 'success']],
    ]);
  });
});
