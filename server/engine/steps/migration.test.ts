/**
 * The migration step watching its ECS task against the simulated cloud on a real Postgres: a task
 * ECS does not know yet, right after RunTask (ECS's reads are eventually consistent), is one still
 * on its way; long after the step started, it is a failure.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import type { Config } from '../../config.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { manualClock, simulator } from '../../infra/simulated/test-helpers.ts';
import { createLogger } from '../../logger.ts';
import { pgMigrate } from './migration.ts';
import type { StepContext } from './step-executor.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

function migrateContext(startedAt: Date): StepContext<DeploymentStep<'pg_migrate'>> {
  const deploymentId = randomUUID();
  const step = {
    name: 'DB.Migrate.main',
    type: 'pg_migrate',
    dependsOn: [],
    when: 'success',
    status: 'ACTIVE',
    startedAt: startedAt.toISOString(),
    input: { ecsCluster: 'demo-cluster', infraStep: 'CF.Apply', taskOutputName: 'MigrationTaskDefinition' },
  } as unknown as DeploymentStep<'pg_migrate'>;
  return {
    deployment: { stack: null, steps: [] } as unknown as DeploymentData,
    step,
    endAnnounced: false,
    firstAttempt: false,
    infra: simulator(testDb.sql, manualClock()),
    config: {} as Config,
    logger: createLogger('silent', { pretty: false }),
    clientToken: clientTokenFor(deploymentId, step.name),
    tokenFor: (label) => clientTokenFor(deploymentId, `${step.name}.${label}`),
    outputsOf: () => ({}),
    previousVersion: async () => null,
    allocatePriorities: async (_listener, _stack, resolve) => resolve([]).value,
  };
}

describe('the migration step watching a task ECS does not know', () => {
  const unknownTask = () => `arn:aws:ecs:eu-west-1:000000000000:task/demo-cluster/${randomUUID().replaceAll('-', '')}`;

  it('right after its step started, waits for it: ECS may not show a task it has just started', async () => {
    const taskArn = unknownTask();
    expect(await pgMigrate.check(migrateContext(new Date()), { taskArn })).toEqual({ kind: 'pending', state: { taskArn } });
  });

  it('long after its step started, fails with what ECS said', async () => {
    const taskArn = unknownTask();
    await expect(pgMigrate.check(migrateContext(new Date(Date.now() - 10 * 60_000)), { taskArn })).rejects.toMatchObject({ code: 'TaskNotFound' });
  });
});
