/**
 * Simulated import change sets on a real Postgres: built over time, executed into an import on the
 * stack, repeated tokens, and faults.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { clientTokenFor } from '../client-token.ts';
import type { InfraPort } from '../port.ts';
import { addFault, clearFaults } from './faults.ts';
import { manualClock, simulator, type ManualClock } from './test-helpers.ts';

let testDb: TestDatabase;
let clock: ManualClock;
let infra: InfraPort;
let stackName: string;
let deploymentId: string;

const IMPORT_TEMPLATE = JSON.stringify({
  Parameters: { EnvName: { Type: 'String' } },
  Resources: {
    NullResource: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
    SecretsManagerSecretDatabaseMain: {
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'Retain',
      Properties: { Name: { 'Fn::Sub': '/${EnvName}/shop/postgres/main' } },
    },
  },
});

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});
beforeEach(async () => {
  await clearFaults(testDb.sql);
  clock = manualClock();
  infra = simulator(testDb.sql, clock, { latencyMs: 1000 });
  stackName = `dev-app${randomUUID().slice(0, 8)}`;
  deploymentId = randomUUID();
  await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
  clock.advance(1000);
});

const token = (step: string) => clientTokenFor(deploymentId, step);
const changeSetName = () => token('CF.ImportPlan');

async function createChangeSet(): Promise<void> {
  const { url } = await infra.storeTemplate({ key: `${stackName}/import.json`, body: IMPORT_TEMPLATE });
  await infra.createImportChangeSet({
    stackName,
    changeSetName: changeSetName(),
    templateUrl: url,
    parameters: [{ key: 'EnvName', value: 'dev' }],
    clientToken: token('CF.ImportPlan'),
  });
}

const describeChangeSet = () => infra.describeChangeSet({ stackName, changeSetName: changeSetName() });

describe('an import change set', () => {
  it('is built (CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE/AVAILABLE), then executed into IMPORT_COMPLETE', async () => {
    await createChangeSet();
    expect(await describeChangeSet()).toEqual({ status: 'CREATE_PENDING', executionStatus: 'UNAVAILABLE', lifecycle: 'PROGRESS' });
    clock.advance(500);
    expect(await describeChangeSet()).toMatchObject({ status: 'CREATE_IN_PROGRESS', lifecycle: 'PROGRESS' });
    clock.advance(500);
    expect(await describeChangeSet()).toEqual({ status: 'CREATE_COMPLETE', executionStatus: 'AVAILABLE', lifecycle: 'AVAILABLE' });

    await infra.executeChangeSet({ stackName, changeSetName: changeSetName(), clientToken: token('CF.ImportPlan.execute') });
    expect(await describeChangeSet()).toMatchObject({ executionStatus: 'EXECUTE_IN_PROGRESS', lifecycle: 'PROGRESS' });
    expect(await infra.describeStack(stackName)).toMatchObject({ status: 'IMPORT_IN_PROGRESS', lifecycle: 'PROGRESS' });
    clock.advance(1000);
    expect(await describeChangeSet()).toMatchObject({ executionStatus: 'EXECUTE_COMPLETE', lifecycle: 'EXECUTED' });
    expect(await infra.describeStack(stackName)).toMatchObject({
      status: 'IMPORT_COMPLETE',
      lifecycle: 'COMPLETE',
      parameters: { EnvName: 'dev' },
      lastClientToken: token('CF.ImportPlan.execute'),
    });
  });

  it('repeated create and execute calls with their tokens are no-ops; another token is refused', async () => {
    await createChangeSet();
    await createChangeSet();
    const { url } = await infra.storeTemplate({ key: `${stackName}/import.json`, body: IMPORT_TEMPLATE });
    await expect(
      infra.createImportChangeSet({
        stackName,
        changeSetName: changeSetName(),
        templateUrl: url,
        parameters: [{ key: 'EnvName', value: 'dev' }],
        clientToken: token('other'),
      }),
    ).rejects.toMatchObject({ code: 'AlreadyExistsException' });

    clock.advance(1000);
    const execute = { stackName, changeSetName: changeSetName(), clientToken: token('execute') };
    await infra.executeChangeSet(execute);
    clock.advance(500);
    await infra.executeChangeSet(execute);
    clock.advance(500);
    expect((await infra.describeStack(stackName))!.status).toBe('IMPORT_COMPLETE');
    await expect(infra.executeChangeSet({ ...execute, clientToken: token('execute.again') })).rejects.toMatchObject({
      code: 'InvalidChangeSetStatusException',
    });
  });

  it('cannot be executed before it is available; unknown ones are not found', async () => {
    await createChangeSet();
    await expect(
      infra.executeChangeSet({ stackName, changeSetName: changeSetName(), clientToken: token('execute') }),
    ).rejects.toMatchObject({
      code: 'InvalidChangeSetStatusException',
      message: expect.stringContaining('cannot be executed in its current status of [CREATE_PENDING]'),
    });
    await expect(infra.describeChangeSet({ stackName, changeSetName: 'nope' })).rejects.toMatchObject({
      code: 'ChangeSetNotFoundException',
    });
  });

  it('needs an existing stack', async () => {
    const { url } = await infra.storeTemplate({ key: 'x/import.json', body: IMPORT_TEMPLATE });
    await expect(
      infra.createImportChangeSet({ stackName: 'dev-none', changeSetName: 'c', templateUrl: url, parameters: [], clientToken: 'c' }),
    ).rejects.toMatchObject({ code: 'ValidationError', message: 'ValidationError: Stack [dev-none] does not exist' });
  });
});

describe('faults on change sets', () => {
  it('fail while building: FAILED with the reason', async () => {
    const fault = await addFault(testDb.sql, { step: 'CF.ImportPlan', fault: 'fail' });
    await createChangeSet();
    clock.advance(1000);
    expect(await describeChangeSet()).toEqual({
      status: 'FAILED',
      executionStatus: 'UNAVAILABLE',
      lifecycle: 'FAILED',
      reason: `Import of the resources failed validation. (simulated fault #${fault.id}: fail)`,
    });
  });

  it('hang while building: stays in progress', async () => {
    await addFault(testDb.sql, { stack: stackName, fault: 'hang' });
    await createChangeSet();
    clock.advance(3600 * 1000);
    expect(await describeChangeSet()).toMatchObject({ status: 'CREATE_IN_PROGRESS', lifecycle: 'PROGRESS' });
  });

  it('rollback on execution: IMPORT_ROLLBACK_COMPLETE, the execution failed', async () => {
    await createChangeSet();
    clock.advance(1000);
    await addFault(testDb.sql, { step: 'CF.ImportPlan.execute', fault: 'rollback' });
    await infra.executeChangeSet({ stackName, changeSetName: changeSetName(), clientToken: token('CF.ImportPlan.execute') });
    clock.advance(500);
    expect((await infra.describeStack(stackName))!.status).toBe('IMPORT_ROLLBACK_IN_PROGRESS');
    clock.advance(500);
    expect(await infra.describeStack(stackName)).toMatchObject({ status: 'IMPORT_ROLLBACK_COMPLETE', parameters: {} });
    expect(await describeChangeSet()).toMatchObject({ executionStatus: 'EXECUTE_FAILED', lifecycle: 'FAILED' });
  });
});
