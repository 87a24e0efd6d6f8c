/**
 * The new version's migration task, run from the running stack's task definition retagged, on the
 * simulator as on AWS: a task definition whose images name the running version is run; one with no
 * image tagged with it is refused, naming its containers and images (the old version's migration
 * would run otherwise).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { clientTokenFor } from '../client-token.ts';
import { createStackElsewhere, manualClock, simulator } from './test-helpers.ts';

let testDb: TestDatabase;
let pool: postgres.Sql;
const clock = manualClock();

beforeAll(async () => {
  testDb = await createTestDatabase();
  pool = postgres(testDb.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await pool?.end({ timeout: 5 });
  await testDb.drop();
});

const template = (image: unknown) =>
  JSON.stringify({
    Parameters: { VersionTag: { Type: 'String' } },
    Resources: {
      MigrateMain: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: {
          Family: { 'Fn::Sub': '${AWS::StackName}_migrate_main' },
          ContainerDefinitions: [
            { Name: 'migrate', Image: image },
            { Name: 'proxy', Image: 'registry/proxy:stable' },
          ],
        },
      },
    },
    Outputs: { MigrationTaskDefinitionMain: { Value: { Ref: 'MigrateMain' } } },
  });

async function migrationOf(templateBody: string): Promise<{ stackName: string; taskDefinition: string }> {
  const stackName = `dev-retag${randomUUID().slice(0, 8)}`;
  await createStackElsewhere(pool, { stackName, templateBody, parameters: { VersionTag: 'v1' } }, { now: clock.now });
  const infra = simulator(testDb.sql, clock);
  const stack = await infra.describeStack(stackName);
  return { stackName, taskDefinition: stack!.outputs.MigrationTaskDefinitionMain! };
}

function run(taskDefinition: string) {
  const infra = simulator(testDb.sql, clock);
  const clientToken = clientTokenFor(randomUUID(), 'DB.Migrate.main');
  return infra.runTask({
    cluster: 'arn:aws:ecs:us-east-1:000000000000:cluster/dev',
    taskDefinition,
    clientToken,
    startedBy: clientToken.slice(0, 36),
    overrides: { retag: { from: 'v1', to: 'v2' } },
  });
}

describe('a retagged migration task on the simulator', () => {
  it('runs when an image is tagged with the running version', async () => {
    const { taskDefinition } = await migrationOf(template({ 'Fn::Sub': 'registry/shop:${VersionTag}' }));
    await expect(run(taskDefinition)).resolves.toMatchObject({ taskArn: expect.stringMatching(/^arn:aws:ecs:/) });
  });

  it('is refused when no image is tagged with the running version, naming the containers and their images', async () => {
    const { taskDefinition } = await migrationOf(template('registry/shop:latest'));
    await expect(run(taskDefinition)).rejects.toThrow(
      `RetagFailed: Cannot run version v2 from task definition ${taskDefinition}: no container image is tagged :v1 (the running version) ` +
        'to move to :v2; its containers: migrate (registry/shop:latest), proxy (registry/proxy:stable)',
    );
  });

  it('runs a task definition whose images the simulator cannot read, as before', async () => {
    const { taskDefinition } = await migrationOf(template({ 'Fn::GetAtt': ['Repo', 'RepositoryUri'] }));
    await expect(run(taskDefinition)).resolves.toMatchObject({ taskArn: expect.any(String) });
  });
});
