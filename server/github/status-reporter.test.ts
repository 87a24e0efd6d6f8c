/**
 * The reporter against a fake GitHub over HTTP and a real database: reports that arrive together,
 * late or twice, GitHub failing in the middle or its answer lost, a holder that died, and no
 * transaction or lock held while GitHub is called.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { startFakeGitHub, type FakeGitHub, type HeldRequest } from '../../test/support/fake-github.ts';
import type { DeploymentData, DeploymentStatus } from '../domain/machines/deployment.ts';
import { createLogger } from '../logger.ts';
import { GitHubClient, GitHubApiError, createOctokit } from './client.ts';
import { GitHubDeploymentReporter } from './status-reporter.ts';
import { CREATION_SETTLE_SECONDS } from './report-decisions.ts';

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
  const creations = () => github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/deployments')).length;
  const order = ['queued', 'in_progress', 'pending', 'success', 'failure', 'inactive'];
  const inOrder = (states: string[]) => states.map((s) => Math.min(order.indexOf(s), 3)).every((rank, i, all) => i === 0 || all[i - 1]! <= rank);

  /** Once GitHub has the held call: the database's time then. */
  async function calling(held: HeldRequest): Promise<Date> {
    await held.arrived;
    const [{ now }] = (await db.sql`select clock_timestamp() as now`) as unknown as [{ now: Date }];
    return now;
  }

  /** While GitHub has a call (since `since`): no transaction open from before it, and the row free. */
  async function expectNothingHeld(trackingId: string, since: Date) {
    const open = await db.sql`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and xact_start < ${since}`;
    expect(open[0]!.n).toBe(0);
    // Another writer of the row gets it at once (a lock held would make it wait out the timeout).
    await db.sql.begin(async (tx) => {
      await tx`set local lock_timeout = '200ms'`;
      const updated = await tx`update github_deployments set updated_at = now() where deployment_id = ${trackingId} returning 1`;
      expect(updated).toHaveLength(1);
    });
  }

  async function wanted(trackingId: string): Promise<string | null> {
    const [row] = await db.sql`select wanted from github_deployments where deployment_id = ${trackingId}`;
    return row?.wanted ?? null;
  }

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

  it('holds no transaction and no lock while GitHub creates the deployment or takes a status', async () => {
    const at = deployment();
    const { id } = at('QUEUED');
    const creating = github.hold('POST', /\/deployments$/);
    const queued = reporter.reportStatus(at('QUEUED'), 'QUEUED');
    await expectNothingHeld(id, await calling(creating));
    const adding = github.hold('POST', /\/statuses$/);
    creating.release();
    await expectNothingHeld(id, await calling(adding));
    adding.release();
    await queued;
    expect(githubOf(id)[0]!.statuses.map((s) => s.state)).toEqual(['queued']);
  });

  it('reports that arrive while GitHub has a call wait for it, make one deployment, and reach GitHub in order', async () => {
    const at = deployment();
    const { id } = at('QUEUED');
    const before = creations();
    const creating = github.hold('POST', /\/deployments$/);
    const first = reporter.reportStatus(at('QUEUED'), 'QUEUED');
    await creating.arrived;
    const adding = github.hold('POST', /\/statuses$/);
    const more = (['TRIGGERED', 'RUNNING'] as const).map((s) => reporter.reportStatus(at(s), s));
    creating.release();
    const since = await calling(adding);
    // A wish recorded while the holder is calling GitHub: the holder sends it before letting go.
    const done = reporter.reportStatus(at('DONE'), 'DONE');
    await vi.waitUntil(async () => (await wanted(id)) === 'DONE');
    await expectNothingHeld(id, since);
    adding.release();
    await Promise.all([first, ...more, done]);

    expect(creations() - before).toBe(1);
    const [only, ...others] = githubOf(id);
    expect(others).toEqual([]);
    const states = only!.statuses.map((s) => s.state);
    expect(inOrder(states)).toBe(true);
    expect(states.at(-1)).toBe('success');
    const [row] = await db.sql`select reported, reported_seq = wanted_seq as caught_up, sending_token from github_deployments where deployment_id = ${id}`;
    expect(row).toEqual({ reported: 'DONE', caught_up: true, sending_token: null });
  });

  it('a creation whose answer was lost is found on GitHub by the retry, not made twice', async () => {
    const at = deployment();
    github.failNext('POST', /\/deployments$/, 502, 1, { afterDoing: true });
    const err = await reporter.reportStatus(at('QUEUED'), 'QUEUED').catch((e: unknown) => e);
    expect((err as GitHubApiError).retryable).toBe(true);
    expect(githubOf(at('QUEUED').id)).toHaveLength(1);

    await reporter.reportStatus(at('QUEUED'), 'QUEUED');
    await reporter.reportStatus(at('DONE'), 'DONE');
    const [only, ...others] = githubOf(at('QUEUED').id);
    expect(others).toEqual([]);
    expect(only!.statuses.map((s) => s.state)).toEqual(['queued', 'success']);
  });

  it('a creation asked lately and not found on GitHub may still be under way: not made again before it has had time to settle', async () => {
    const at = deployment();
    const { id } = at('QUEUED');
    // An earlier holder asked GitHub to create (its request timed out, say) and let go; GitHub shows nothing yet.
    await db.sql`
      insert into github_deployments (deployment_id, owner, repo, environment, commit, wanted, wanted_description, wanted_seq, creation_requested_at)
      values (${id}, 'octo', 'shop', 'prod', ${commit}, 'QUEUED', 'Queued', 1, now())`;
    const before = creations();
    const err = await reporter.reportStatus(at('RUNNING'), 'RUNNING').catch((e: unknown) => e);
    expect((err as GitHubApiError).retryable).toBe(true);
    expect(creations()).toBe(before);
    const [row] = await db.sql`select sending_token from github_deployments where deployment_id = ${id}`;
    expect(row!.sending_token).toBeNull();

    // Long enough after, nothing came of it: the retry makes the deployment.
    await db.sql`update github_deployments set creation_requested_at = now() - ${CREATION_SETTLE_SECONDS + 1} * interval '1 second' where deployment_id = ${id}`;
    await reporter.reportStatus(at('RUNNING'), 'RUNNING');
    expect(creations()).toBe(before + 1);
    expect(githubOf(id)[0]!.statuses.map((s) => s.state)).toEqual(['in_progress']);
  });

  it('a holder that died between GitHub creating the deployment and the write: the next report waits out its lease, finds it and goes on', async () => {
    const at = deployment();
    const { id } = at('QUEUED');
    // What the dead process left: its wish, its creation asked (and made on GitHub), its lease.
    await db.sql`
      insert into github_deployments (deployment_id, owner, repo, environment, commit, wanted, wanted_description, wanted_seq,
                                      creation_requested_at, sending_token, sending_until)
      values (${id}, 'octo', 'shop', 'prod', ${commit}, 'QUEUED', 'Queued', 1, now(), gen_random_uuid(), now() + interval '300 milliseconds')`;
    const client = new GitHubClient(createOctokit({ auth: { kind: 'token', token: TOKEN }, apiUrl: github.url }, logger));
    await client.createDeployment({ owner: 'octo', repo: 'shop' }, { commit, environment: 'prod', description: `Deployer deployment ${id}`, payload: { deploymentId: id } });
    const before = creations();

    await reporter.reportStatus(at('RUNNING'), 'RUNNING');
    expect(creations()).toBe(before);
    const [only, ...others] = githubOf(id);
    expect(others).toEqual([]);
    expect(only!.statuses.map((s) => s.state)).toEqual(['in_progress']);
  });
});
