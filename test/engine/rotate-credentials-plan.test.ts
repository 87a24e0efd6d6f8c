/**
 * A full deployment that rotates the database password on an existing stack stops the service
 * before DB.Upsert sets the new one (README, "Deploying"): it is not the evaluated plan, whose
 * DB.Upsert runs beside the running version (and whose NOP, BEFORE and PARALLEL branches never
 * stop it), which would take the running tasks' database login away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';

describe('rotateCredentials on an existing stack', () => {
  let t: TestDeployer;

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('scales the service down before DB.Upsert rotates, then back up to the count it ran with', async () => {
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'v1' })).id, undefined, 30_000)).status).toBe('DONE');

    const rotated = await waitFor(t.client, (await deploy(t.client, { version: 'v2', flags: { rotateCredentials: true } })).id, undefined, 30_000);
    expect(rotated.status).toBe('DONE');
    expect(rotated.evaluation).toBeNull();
    expect(rotated.planNotes).toContainEqual(expect.stringMatching(/^not evaluated: rotateCredentials .*the service stops before DB\.Upsert; this is the full plan$/));
    const step = (name: string) => rotated.steps.find((s) => s.name === name)!;
    expect(step('ScaleDown').status).toBe('DONE');
    expect(step('DB.Upsert.main').status).toBe('DONE');
    expect(Date.parse(step('DB.Upsert.main').startedAt!)).toBeGreaterThanOrEqual(Date.parse(step('ScaleDown').finishedAt!));
    expect(step('ScaleUp').status).toBe('DONE');
    expect((await t.describeStack('demo-shop'))!.parameters).toMatchObject({ VersionTag: 'v2', DesiredCountapi: '1' });
  });
});
