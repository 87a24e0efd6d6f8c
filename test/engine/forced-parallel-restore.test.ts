/**
 * PARALLEL forced over a database whose check answered 3 (the new version needs the migration):
 * CF.Apply starts the new version beside the migration, so a migration that fails must put the
 * previous version back (CF.Restore), not leave the new one live on the schema it needs and lacks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, registerDemoCluster, waitFor } from '../support/deployments.ts';

const checkedApp = demoAppYaml.replace('      migrateContainer:\n', '      migrateCheck:\n        command: [migrate, check]\n      migrateContainer:\n');

describe('a forced PARALLEL over a database at 3', () => {
  let t: TestDeployer;
  const run = async (version: string, strategy?: 'PARALLEL') => {
    const res = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version, applicationYaml: checkedApp, ...(strategy && { strategy }) } });
    if (res.error) throw new Error(JSON.stringify(res.error));
    return waitFor(t.client, res.data!.id, undefined, 30_000);
  };
  const fault = async (step: string, fault: string) => {
    expect((await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step, fault, times: 1 } })).response.status).toBe(201);
  };

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('puts the previous version back when the migration fails', async () => {
    expect((await run('v1')).status).toBe('DONE');
    await fault('DB.Evaluate.main', 'exitCode:3');
    await fault('DB.Migrate.main', 'fail');
    const failed = await run('v2', 'PARALLEL');
    expect(failed.status).toBe('FAILED');
    expect(failed.evaluation).toMatchObject({ strategy: 'PARALLEL', auto: 'BEFORE', forced: true });
    const status = (name: string) => failed.steps.find((s) => s.name === name)?.status;
    expect(status('CF.Apply')).toBe('DONE');
    expect(status('DB.Migrate.main')).toBe('FAILED');
    expect(status('CF.Restore')).toBe('DONE');
    expect(failed.error).toMatch(/CF\.Restore: put back version v1/);
    expect((await t.describeStack('demo-shop'))!.parameters).toMatchObject({ VersionTag: 'v1', DesiredCountapi: '1' });
  });
});
