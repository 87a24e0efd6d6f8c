/**
 * A deployment from GitHub that is terminated after it changed what runs: CF.Restore then puts the
 * previous version back (or fails to, and the stack is BROKEN). GitHub's status for the deployment
 * says which, once the restore has ended, not only "terminated". Real deployer on the simulated
 * cloud, fake GitHub over HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoAppYaml, eventually, startGitHubWorld, waitForDeployment, type GitHubWorld } from './world.ts';
import { waitForSteps } from '../support/deployments.ts';
import type { FakeRepo } from '../support/fake-github.ts';

describe('a terminated deployment from GitHub tells GitHub what its restore did', () => {
  let world: GitHubWorld;
  let repo: FakeRepo;
  let base: string;

  const trigger = async (ref: string) => {
    const res = await world.t.client.POST('/v1/deployments/trigger', {
      body: { environment: 'demo', source: { github: { owner: 'octo-term', repo: 'shop', ref } }, strategy: 'DOWNTIME' },
    });
    expect(res.response.status).toBe(202);
    return res.data!.id;
  };
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await world.t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };
  const terminate = async (id: string, reason: string) => {
    const res = await world.t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id } }, body: { reason } });
    expect(res.data!.status).toBe('TERMINATED');
  };
  /** The GitHub statuses of our deployment, once the last one's description matches. */
  const statusesOnGitHub = (id: string, last: RegExp) =>
    eventually(() => {
      const statuses = world.github.deployments.find((d) => d.payload.deploymentId === id)?.statuses;
      return statuses && last.test(statuses.at(-1)?.description ?? '') ? statuses : undefined;
    }, `GitHub's last status of ${id} to match ${last}`);
  /** A deployment of a new commit, terminated while its migration hangs after ScaleDown. */
  const terminatedAfterScaleDown = async (name: string) => {
    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang', times: 1 });
    const id = await trigger(repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': name }, { branch: 'main' }));
    await waitForSteps(world.t.client, id, { ScaleDown: ['DONE'], 'DB.Migrate.main': ['ACTIVE'] });
    await terminate(id, 'wrong build');
    return id;
  };

  beforeAll(async () => {
    world = await startGitHubWorld();
    repo = world.github.repo('octo-term', 'shop');
    base = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': 'base' }, { branch: 'main' });
    expect((await waitForDeployment(world.t.client, await trigger(base))).status).toBe('DONE');
  });
  beforeEach(async () => {
    await world.t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => world?.stop());

  it('says the previous version was put back once CF.Restore has done it', async () => {
    const id = await terminatedAfterScaleDown('restored');
    const ended = await waitForSteps(world.t.client, id, { 'CF.Restore': ['DONE'] });
    expect(ended.status).toBe('TERMINATED');

    const statuses = await statusesOnGitHub(id, new RegExp(`previous version ${base.slice(0, 7)} is back`));
    expect(statuses.at(-1)).toMatchObject({ state: 'failure' });
    expect(statuses.at(-1)!.description).toContain('wrong build');
    expect(statuses.at(-1)!.description!.length).toBeLessThanOrEqual(140);
  });

  it('says the stack is BROKEN when CF.Restore fails', async () => {
    await fault({ stack: 'demo-shop', step: 'CF.Restore', fault: 'rollback', times: 1 });
    const id = await terminatedAfterScaleDown('broken');
    const ended = await waitForSteps(world.t.client, id, { 'CF.Restore': ['FAILED'] });
    expect(ended.status).toBe('TERMINATED');

    const statuses = await statusesOnGitHub(id, /putting the previous version back failed: the stack is BROKEN/);
    expect(statuses.at(-1)).toMatchObject({ state: 'failure' });
    expect(statuses.at(-1)!.description!.length).toBeLessThanOrEqual(140);
  });
});
