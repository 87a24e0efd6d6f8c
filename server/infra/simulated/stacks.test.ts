/**
 * The simulated CloudFormation stacks on a real Postgres: status sequences played against a clock
 * the tests move, "no updates", client-token idempotency, AWS's refusals, faults, and state that
 * survives a new simulator instance (a crash of the deployer).
 */
import { createHash, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { clientTokenFor } from '../client-token.ts';
import type { InfraPort } from '../port.ts';
import { addFault, clearFaults, listFaults } from './faults.ts';
import { appParameters, appTemplate, LISTENER, manualClock, simulator, stackParametersInForce, type ManualClock } from './test-helpers.ts';

let testDb: TestDatabase;
let clock: ManualClock;
let infra: InfraPort;
let stackName: string;
let deploymentId: string;

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
});

const token = (step: string) => clientTokenFor(deploymentId, step);

/** The distinct statuses seen while time moves on by `ms`, sampled every `step` ms. */
async function statusesOver(ms: number, step = 50, name = stackName): Promise<string[]> {
  const seen: string[] = [];
  for (let t = 0; ; t += step) {
    const status = (await infra.describeStack(name))?.status ?? 'MISSING';
    if (seen.at(-1) !== status) seen.push(status);
    if (t >= ms) return seen;
    clock.advance(step);
  }
}

async function createdStack(): Promise<void> {
  await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
  clock.advance(1000);
}

async function templateUrl(body = appTemplate(), key = `${stackName}/${randomUUID()}.json`): Promise<string> {
  return (await infra.storeTemplate({ key, body })).url;
}

async function updatedStack(overrides: Record<string, string> = {}, step = 'CF.Update'): Promise<void> {
  await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters(overrides), clientToken: token(step) });
  clock.advance(1000);
}

describe('status sequences', () => {
  it('creates the empty stack: CREATE_IN_PROGRESS, then CREATE_COMPLETE once the latency has passed', async () => {
    expect(await infra.describeStack(stackName)).toBeNull();
    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
    const first = await infra.describeStack(stackName);
    expect(first).toMatchObject({ status: 'CREATE_IN_PROGRESS', lifecycle: 'PROGRESS', lastClientToken: token('CF.CreateEmpty') });
    expect(first!.stackId).toMatch(new RegExp(`^arn:aws:cloudformation:us-east-1:000000000000:stack/${stackName}/`));
    expect(await statusesOver(1000)).toEqual(['CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    expect(await infra.describeStack(stackName)).toMatchObject({ lifecycle: 'COMPLETE', outputs: {}, parameters: {} });
  });

  it('updates: UPDATE_IN_PROGRESS, UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, UPDATE_COMPLETE; new parameters and outputs at the end', async () => {
    await createdStack();
    const result = await infra.updateStack({
      stackName,
      templateUrl: await templateUrl(),
      parameters: appParameters(),
      clientToken: token('CF.Update'),
    });
    expect(result).toEqual({ noUpdates: false });
    const during = await infra.describeStack(stackName);
    expect(during).toMatchObject({ status: 'UPDATE_IN_PROGRESS', outputs: {}, parameters: {} });

    expect(await statusesOver(1000)).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE']);
    const done = await infra.describeStack(stackName);
    // VersionTag was not given: the template's default counts, as in CloudFormation.
    expect(done!.parameters).toEqual({
      EnvName: 'dev',
      VersionTag: 'v1',
      ListenerARN: LISTENER,
      ListenerRulePriorityFirstabc: '5',
      DesiredCountmain: '0',
    });
    expect(Object.keys(done!.outputs).sort()).toEqual(['DatabaseSecretMain', 'MigrationTaskDefinitionMain']);
    expect(done!.lastClientToken).toBe(token('CF.Update'));
  });

  it('scales with the previous template: every DesiredCount* set, the rest kept', async () => {
    await createdStack();
    await updatedStack({ VersionTag: 'v7' });
    const before = await infra.describeStack(stackName);

    expect(await infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('ScaleUp') })).toEqual({ noUpdates: false });
    expect(await statusesOver(1000)).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE']);
    const after = await infra.describeStack(stackName);
    expect(after!.parameters).toEqual({ ...before!.parameters, DesiredCountmain: '1' });
    // Nothing but the count changed, so the task definition keeps its revision.
    expect(after!.outputs).toEqual(before!.outputs);
  });

  it('cancels an update in progress: UPDATE_ROLLBACK_IN_PROGRESS to UPDATE_ROLLBACK_COMPLETE, back to the old parameters', async () => {
    await createdStack();
    await updatedStack();
    const before = await infra.describeStack(stackName);
    await infra.updateStack({
      stackName,
      templateUrl: await templateUrl(),
      parameters: appParameters({ VersionTag: 'v2' }),
      clientToken: token('CF.Update.2'),
    });
    clock.advance(100);
    await infra.cancelStackUpdate({ stackName, clientToken: token('CF.Update.cancel') });
    expect(await infra.describeStack(stackName)).toMatchObject({
      status: 'UPDATE_ROLLBACK_IN_PROGRESS',
      lifecycle: 'ROLLING_BACK',
      statusReason: 'User Initiated',
    });
    expect(await statusesOver(1000)).toEqual([
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    const after = await infra.describeStack(stackName);
    expect(after).toMatchObject({ lifecycle: 'ROLLED_BACK', parameters: before!.parameters, outputs: before!.outputs });
    // The cancel changed nothing (no target content): the next operation starts from the old parameters.
    await infra.scaleStack({ stackName, desiredCount: 3, clientToken: token('ScaleUp') });
    expect(await infra.describeStack(stackName)).toMatchObject({ status: 'UPDATE_IN_PROGRESS', parameters: before!.parameters, outputs: before!.outputs });
    clock.advance(1000);
    expect(await infra.describeStack(stackName)).toMatchObject({ status: 'UPDATE_COMPLETE', parameters: { ...before!.parameters, DesiredCountmain: '3' } });
  });

  it('refuses to cancel when no update is in progress', async () => {
    await createdStack();
    await expect(infra.cancelStackUpdate({ stackName, clientToken: token('cancel') })).rejects.toMatchObject({
      code: 'ValidationError',
      message: expect.stringContaining('CancelUpdateStack cannot be called from current stack status CREATE_COMPLETE'),
    });
  });

  it('deletes: DELETE_IN_PROGRESS, then the stack is gone and its name can be used again', async () => {
    await createdStack();
    const { stackId } = (await infra.describeStack(stackName))!;
    await infra.deleteStack({ stackName, clientToken: token('delete') });
    expect(await statusesOver(1000)).toEqual(['DELETE_IN_PROGRESS', 'MISSING']);

    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty.again') });
    const again = await infra.describeStack(stackName);
    expect(again).toMatchObject({ status: 'CREATE_IN_PROGRESS' });
    expect(again!.stackId).not.toBe(stackId);
  });

  it('deleting a stack that does not exist succeeds, as in AWS; deleting a busy one is refused', async () => {
    await infra.deleteStack({ stackName, clientToken: token('delete') });
    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
    await expect(infra.deleteStack({ stackName, clientToken: token('delete') })).rejects.toMatchObject({
      code: 'ValidationError',
      message: `ValidationError: Stack [${stackName}] cannot be deleted while in status CREATE_IN_PROGRESS`,
    });
  });

  it('with no latency, every operation is complete at once', async () => {
    infra = simulator(testDb.sql, clock);
    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
    expect((await infra.describeStack(stackName))!.status).toBe('CREATE_COMPLETE');
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters(), clientToken: token('CF.Update') });
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_COMPLETE');
  });
});

describe('no updates', () => {
  it('answers noUpdates when template and parameters are those of the stack, even from another URL', async () => {
    await createdStack();
    await updatedStack();
    const before = await infra.describeStack(stackName);
    const result = await infra.updateStack({
      stackName,
      templateUrl: await templateUrl(appTemplate(), 'another/key.json'),
      parameters: appParameters(),
      clientToken: token('CF.Update.again'),
    });
    expect(result).toEqual({ noUpdates: true });
    expect(await infra.describeStack(stackName)).toEqual(before);
  });

  it('answers noUpdates to a scale to the count the stack already has', async () => {
    await createdStack();
    await updatedStack({ DesiredCountmain: '1' });
    expect(await infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('ScaleUp') })).toEqual({ noUpdates: true });
    expect((await infra.describeStack(stackName))!.lastClientToken).toBe(token('CF.Update'));
  });

  it('a stack without DesiredCount parameters (the empty stack) has nothing to scale', async () => {
    await createdStack();
    expect(await infra.scaleStack({ stackName, desiredCount: 0, clientToken: token('ScaleDown') })).toEqual({ noUpdates: true });
  });
});

describe('client tokens', () => {
  it('a repeated create with the same token is a no-op; another token gets AlreadyExistsException', async () => {
    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
    const first = await infra.describeStack(stackName);
    clock.advance(500);
    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
    expect((await infra.describeStack(stackName))!.stackId).toBe(first!.stackId);
    await expect(infra.createEmptyStack({ stackName, clientToken: token('other') })).rejects.toMatchObject({
      code: 'AlreadyExistsException',
    });
  });

  it('a repeated update while it runs is a no-op, not a second update and not an error', async () => {
    await createdStack();
    const url = await templateUrl();
    const call = { stackName, templateUrl: url, parameters: appParameters(), clientToken: token('CF.Update') };
    await infra.updateStack(call);
    clock.advance(400);
    expect(await infra.updateStack(call)).toEqual({ noUpdates: false });
    // The original operation goes on: it completes 1000 ms after the first call, not the second.
    clock.advance(600);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_COMPLETE');
  });

  it('a repeated update after later operations is still a no-op', async () => {
    await createdStack();
    await updatedStack();
    await infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('ScaleUp') });
    clock.advance(1000);
    const after = await infra.describeStack(stackName);
    expect(await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters(), clientToken: token('CF.Update') })).toEqual({
      noUpdates: false,
    });
    expect(await infra.describeStack(stackName)).toEqual(after);
  });

  it('a repeated "no updates" call gives the same answer', async () => {
    await createdStack();
    await updatedStack();
    const call = { stackName, templateUrl: await templateUrl(), parameters: appParameters(), clientToken: token('CF.Update.2') };
    expect(await infra.updateStack(call)).toEqual({ noUpdates: true });
    expect(await infra.updateStack(call)).toEqual({ noUpdates: true });
  });

  it('repeated cancel, continue-rollback and delete calls are no-ops', async () => {
    await createdStack();
    await updatedStack();
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters({ VersionTag: 'v2' }), clientToken: token('CF.Update.2') });
    await infra.cancelStackUpdate({ stackName, clientToken: token('cancel') });
    clock.advance(500);
    await infra.cancelStackUpdate({ stackName, clientToken: token('cancel') });
    clock.advance(500);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_ROLLBACK_COMPLETE');

    await infra.deleteStack({ stackName, clientToken: token('delete') });
    clock.advance(500);
    await infra.deleteStack({ stackName, clientToken: token('delete') });
    clock.advance(500);
    expect(await infra.describeStack(stackName)).toBeNull();
  });
});

describe("AWS's refusals", () => {
  it('refuses an update or a scale while the stack is in progress', async () => {
    await createdStack();
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters(), clientToken: token('CF.Update') });
    const { stackId } = (await infra.describeStack(stackName))!;
    const message = `ValidationError: Stack:${stackId} is in UPDATE_IN_PROGRESS state and can not be updated.`;
    await expect(
      infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters({ VersionTag: 'v3' }), clientToken: token('other') }),
    ).rejects.toMatchObject({ code: 'ValidationError', message });
    await expect(infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('ScaleUp') })).rejects.toMatchObject({
      code: 'ValidationError',
      message,
    });
  });

  it('refuses calls on a stack that does not exist', async () => {
    const url = await templateUrl();
    const missing = { code: 'ValidationError', message: `ValidationError: Stack [${stackName}] does not exist` };
    await expect(infra.updateStack({ stackName, templateUrl: url, parameters: [], clientToken: token('u') })).rejects.toMatchObject(missing);
    await expect(infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('s') })).rejects.toMatchObject(missing);
    await expect(infra.cancelStackUpdate({ stackName, clientToken: token('c') })).rejects.toMatchObject(missing);
  });

  it('checks the template and its parameters as CloudFormation does', async () => {
    await createdStack();
    const update = async (url: string, parameters = appParameters()) =>
      infra.updateStack({ stackName, templateUrl: url, parameters, clientToken: token(randomUUID()) });

    await expect(update('https://elsewhere.example/x.json')).rejects.toMatchObject({
      code: 'ValidationError',
      message: expect.stringContaining('S3 error'),
    });
    await expect(update(await templateUrl(), [...appParameters(), { key: 'Nope', value: 'x' }])).rejects.toMatchObject({
      message: 'ValidationError: Parameters: [Nope] do not exist in the template',
    });
    await expect(update(await templateUrl(), appParameters().filter((p) => p.key !== 'EnvName'))).rejects.toMatchObject({
      message: 'ValidationError: Parameters: [EnvName] must have values',
    });
    await expect(update(await templateUrl('{"Resources": {}}'))).rejects.toMatchObject({
      message: 'ValidationError: Template format error: At least one Resources member must be defined.',
    });
    await expect(update(await templateUrl('{ not json'))).rejects.toMatchObject({
      message: expect.stringContaining('Template format error'),
    });
  });

  it('reads the latest body stored under a key', async () => {
    await createdStack();
    const key = `${stackName}/template.json`;
    await infra.storeTemplate({ key, body: appTemplate({ image: 'v1' }) });
    const { url } = await infra.storeTemplate({ key, body: appTemplate({ image: 'v9' }) });
    const params = appParameters().filter((p) => p.key !== 'VersionTag');
    await infra.updateStack({ stackName, templateUrl: url, parameters: params, clientToken: token('CF.Update') });
    clock.advance(1000);
    expect((await infra.describeStack(stackName))!.parameters.VersionTag).toBe('v9');
  });
});

describe('NoEcho parameters', () => {
  /** The app template with a password its parameters declare NoEcho. */
  const withPassword = () => {
    const template = JSON.parse(appTemplate());
    template.Parameters.DbMasterPassword = { Type: 'String', NoEcho: true };
    return JSON.stringify(template);
  };
  const inForce = async () => (await stackParametersInForce(testDb.sql, stackName, { now: clock.now }))!;

  it('are described masked as CloudFormation shows them; the stack keeps the value', async () => {
    await createdStack();
    const url = await templateUrl(withPassword());
    await infra.updateStack({ stackName, templateUrl: url, parameters: [...appParameters(), { key: 'DbMasterPassword', value: 'hunter2' }], clientToken: token('CF.Update') });
    clock.advance(1000);
    const described = (await infra.describeStack(stackName))!;
    expect(described.parameters).toMatchObject({ EnvName: 'dev', DbMasterPassword: '****' });
    expect((await inForce()).DbMasterPassword).toBe('hunter2');
    // A scale keeps every other parameter's value: the password's, not its mask.
    await infra.scaleStack({ stackName, desiredCount: 2, clientToken: token('ScaleUp') });
    clock.advance(1000);
    expect(await inForce()).toMatchObject({ DesiredCountmain: '2', DbMasterPassword: 'hunter2' });
  });

  it('UsePreviousValue keeps the value in force; a parameter the current template does not have is refused, as CloudFormation refuses it', async () => {
    await createdStack();
    const url = await templateUrl(withPassword());
    await infra.updateStack({ stackName, templateUrl: url, parameters: [...appParameters(), { key: 'DbMasterPassword', value: 'hunter2' }], clientToken: token('CF.Update') });
    clock.advance(1000);
    const kept = [...appParameters({ VersionTag: 'v2' }), { key: 'DbMasterPassword', usePreviousValue: true as const }];
    expect(await infra.updateStack({ stackName, templateUrl: url, parameters: kept, clientToken: token('CF.Update.2') })).toEqual({ noUpdates: false });
    clock.advance(1000);
    expect(await inForce()).toMatchObject({ VersionTag: 'v2', DbMasterPassword: 'hunter2' });

    // A template without the password: its value is gone from the stack.
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters({ VersionTag: 'v3' }), clientToken: token('CF.Update.3') });
    clock.advance(1000);
    expect(await inForce()).not.toHaveProperty('DbMasterPassword');
    await expect(infra.updateStack({ stackName, templateUrl: url, parameters: kept, clientToken: token('CF.Restore') })).rejects.toMatchObject({
      code: 'ValidationError',
      message: expect.stringContaining('Invalid input for parameter key DbMasterPassword. Cannot specify usePreviousValue as true for a parameter key not in the previous template'),
    });
  });
});

describe('template bodies', () => {
  const sha256 = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex');
  const stackRow = async () =>
    (await testDb.sql`select template_sha256, target_template_sha256 from sim_stacks where name = ${stackName}`)[0];

  it('are kept once, by sha256: stored templates, the stack before and after its operations, and change sets refer to them', async () => {
    await createdStack();
    const first = appTemplate({ image: 'v1' });
    const [url, sameBodyUrl] = [await templateUrl(first), await templateUrl(first)];
    await infra.updateStack({ stackName, templateUrl: url, parameters: appParameters(), clientToken: token('CF.Update') });
    clock.advance(1000);
    // The update applied: the scale settles its template as the one before, and keeps it.
    await infra.scaleStack({ stackName, desiredCount: 2, clientToken: token('ScaleUp') });
    expect(await stackRow()).toEqual({ template_sha256: sha256(first), target_template_sha256: sha256(first) });
    clock.advance(1000);
    // The same body from another key is the template the stack has.
    expect(await infra.updateStack({ stackName, templateUrl: sameBodyUrl, parameters: appParameters({ DesiredCountmain: '2' }), clientToken: token('Again') })).toEqual({
      noUpdates: true,
    });

    const second = appTemplate({ image: 'v2' });
    const changeSet = { stackName, changeSetName: `apply-${deploymentId}` };
    await infra.createChangeSet({ ...changeSet, templateUrl: await templateUrl(second), parameters: appParameters({ DesiredCountmain: '3' }), clientToken: token('CF.Apply') });
    clock.advance(1000);
    // Listed against the stack's template (read by its sha256) and parameters.
    expect((await infra.describeChangeSet(changeSet)).changes?.map((c) => [c.logicalId, c.action])).toEqual([['ECSServiceMain', 'Modify']]);
    await infra.executeChangeSet({ ...changeSet, clientToken: token('CF.Apply.execute') });
    clock.advance(1000);
    expect(await infra.describeStack(stackName)).toMatchObject({ status: 'UPDATE_COMPLETE', parameters: { VersionTag: 'v2', DesiredCountmain: '3' } });

    expect(await stackRow()).toEqual({ template_sha256: sha256(first), target_template_sha256: sha256(second) });
    const [changeSetRow] = await testDb.sql`select template_sha256 from sim_change_sets where stack_name = ${stackName}`;
    expect(changeSetRow!.template_sha256).toBe(sha256(second));
    const stored = await testDb.sql`select distinct body_sha256 from sim_templates where key like ${`${stackName}/%`} order by body_sha256`;
    expect(stored.map((r) => r.body_sha256)).toEqual([sha256(first), sha256(second)].sort());
    const bodies = await testDb.sql`select sha256, body from sim_template_bodies where sha256 in ${testDb.sql([sha256(first), sha256(second)])} order by body`;
    expect(bodies.map((b) => [b.sha256, b.body])).toEqual([first, second].sort().map((body) => [sha256(body), body]));
  });

  it('a failed delete names a resource of the template in force', async () => {
    await createdStack();
    await updatedStack();
    await addFault(testDb.sql, { stack: stackName, fault: 'fail' });
    await infra.deleteStack({ stackName, clientToken: token('CF.Delete') });
    clock.advance(1000);
    expect(await infra.describeStack(stackName)).toMatchObject({
      status: 'DELETE_FAILED',
      statusReason: expect.stringContaining('failed to delete: [SecretsManagerSecretDatabaseMain]'),
    });
  });
});

describe('outputs', () => {
  it('makes up the ARNs a real stack would output, from the resources the outputs refer to', async () => {
    await createdStack();
    await infra.updateStack({
      stackName,
      templateUrl: await templateUrl(appTemplate({ extraOutput: true })),
      parameters: appParameters(),
      clientToken: token('CF.Update'),
    });
    clock.advance(1000);
    const { outputs } = (await infra.describeStack(stackName))!;
    expect(outputs.DatabaseSecretMain).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:\/dev\/shop\/postgres\/dev_shop_main-[A-Za-z0-9_-]{6}$/,
    );
    expect(outputs.MigrationTaskDefinitionMain).toBe(
      `arn:aws:ecs:us-east-1:000000000000:task-definition/${stackName}_migrate_main:1`,
    );
    expect(outputs.ServiceMain).toBe(`${stackName}-ECSServiceMain-Name`);
  });

  it('gives the task definition a new revision when the stack changes, the same when only counts change', async () => {
    await createdStack();
    await updatedStack();
    const first = (await infra.describeStack(stackName))!.outputs;
    await updatedStack({ VersionTag: 'v2' }, 'CF.Update.2');
    const second = (await infra.describeStack(stackName))!.outputs;
    expect(second.MigrationTaskDefinitionMain).toMatch(/:2$/);
    // The secret is the same resource with the same name: same ARN.
    expect(second.DatabaseSecretMain).toBe(first.DatabaseSecretMain);
    await infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('ScaleUp') });
    clock.advance(1000);
    expect((await infra.describeStack(stackName))!.outputs.MigrationTaskDefinitionMain).toMatch(/:2$/);
  });
});

describe('faults', () => {
  it('createFailed: CREATE_IN_PROGRESS, ROLLBACK_IN_PROGRESS, ROLLBACK_COMPLETE; the stack can then only be deleted', async () => {
    const fault = await addFault(testDb.sql, { stack: stackName, fault: 'createFailed' });
    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
    expect(await statusesOver(1000)).toEqual(['CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_COMPLETE']);
    const failed = await infra.describeStack(stackName);
    expect(failed).toMatchObject({ lifecycle: 'CREATE_FAILED' });
    expect(failed!.statusReason).toContain(`simulated fault #${fault.id}: createFailed`);

    await expect(infra.scaleStack({ stackName, desiredCount: 0, clientToken: token('ScaleDown') })).rejects.toMatchObject({
      message: expect.stringContaining('is in ROLLBACK_COMPLETE state and can not be updated.'),
    });
    await infra.deleteStack({ stackName, clientToken: token('delete') });
    clock.advance(1000);
    expect(await infra.describeStack(stackName)).toBeNull();
  });

  it('fail on a create: the rollback fails too (ROLLBACK_FAILED, terminal)', async () => {
    await addFault(testDb.sql, { stack: stackName, fault: 'fail' });
    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
    expect(await statusesOver(1000)).toEqual(['CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_FAILED']);
    expect((await infra.describeStack(stackName))!.lifecycle).toBe('TERMINAL');
  });

  it('rollback: the update rolls back to the previous parameters and outputs; with times 1, only once', async () => {
    await createdStack();
    await updatedStack();
    const before = await infra.describeStack(stackName);
    const fault = await addFault(testDb.sql, { stack: stackName, fault: 'rollback', times: 1 });

    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters({ VersionTag: 'v2' }), clientToken: token('CF.Update.2') });
    expect(await statusesOver(1000)).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    const rolledBack = await infra.describeStack(stackName);
    expect(rolledBack).toMatchObject({ lifecycle: 'ROLLED_BACK', parameters: before!.parameters, outputs: before!.outputs });
    expect(rolledBack!.statusReason).toBe(
      `The following resource(s) failed to update: [SecretsManagerSecretDatabaseMain]. (simulated fault #${fault.id}: rollback)`,
    );
    expect((await listFaults(testDb.sql)).find((f) => f.id === fault.id)).toMatchObject({ times: 1, remaining: 0 });

    // A rolled-back stack takes the next update, and the spent fault no longer strikes.
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters({ VersionTag: 'v2' }), clientToken: token('CF.Update.3') });
    clock.advance(1000);
    expect(await infra.describeStack(stackName)).toMatchObject({ status: 'UPDATE_COMPLETE', parameters: { VersionTag: 'v2' } });
  });

  it('fail on an update: UPDATE_ROLLBACK_FAILED, which continueUpdateRollback brings to UPDATE_ROLLBACK_COMPLETE', async () => {
    await createdStack();
    await updatedStack();
    await addFault(testDb.sql, { stack: stackName, fault: 'fail', times: 1 });
    await infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('ScaleUp') });
    expect(await statusesOver(1000)).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_FAILED']);
    expect((await infra.describeStack(stackName))!.lifecycle).toBe('TERMINAL');
    await expect(infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('ScaleUp.2') })).rejects.toMatchObject({
      code: 'ValidationError',
    });

    await infra.continueUpdateRollback({ stackName, clientToken: token('continue') });
    expect(await statusesOver(1000)).toEqual([
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    expect((await infra.describeStack(stackName))!.parameters.DesiredCountmain).toBe('0');
    await expect(infra.continueUpdateRollback({ stackName, clientToken: token('continue.2') })).rejects.toMatchObject({
      message: expect.stringContaining('ContinueUpdateRollback cannot be called from current stack status UPDATE_ROLLBACK_COMPLETE'),
    });
  });

  it('fail on a delete: DELETE_FAILED', async () => {
    await createdStack();
    await addFault(testDb.sql, { stack: stackName, fault: 'fail' });
    await infra.deleteStack({ stackName, clientToken: token('delete') });
    expect(await statusesOver(1000)).toEqual(['DELETE_IN_PROGRESS', 'DELETE_FAILED']);
  });

  it('hang: the update never finishes, and cancelling it (not subject to hang) still rolls it back', async () => {
    await createdStack();
    await addFault(testDb.sql, { stack: stackName, fault: 'hang' });
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters(), clientToken: token('CF.Update') });
    clock.advance(24 * 3600 * 1000);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_IN_PROGRESS');
    await infra.cancelStackUpdate({ stackName, clientToken: token('CF.Update.cancel') });
    clock.advance(1000);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
  });

  it('latencyMs: the operation takes that long instead of the default', async () => {
    await addFault(testDb.sql, { stack: stackName, fault: 'latencyMs:5000', times: 1 });
    await infra.createEmptyStack({ stackName, clientToken: token('CF.CreateEmpty') });
    clock.advance(4900);
    expect((await infra.describeStack(stackName))!.status).toBe('CREATE_IN_PROGRESS');
    clock.advance(100);
    expect((await infra.describeStack(stackName))!.status).toBe('CREATE_COMPLETE');
    // Spent: the next operation is back to the default latency.
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters(), clientToken: token('CF.Update') });
    clock.advance(1000);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_COMPLETE');
  });

  it('callDelayMs: the call takes that long before it is accepted, and other calls on the stack go on meanwhile', async () => {
    await createdStack();
    const fault = await addFault(testDb.sql, { stack: stackName, step: 'CF.Update', fault: 'callDelayMs:400', times: 1 });
    const started = performance.now();
    let settled = false;
    const update = infra
      .updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters({ DesiredCountmain: '3' }), clientToken: token('CF.Update') })
      .finally(() => (settled = true));
    while ((await listFaults(testDb.sql)).find((f) => f.id === fault.id)!.remaining !== 0) await new Promise((r) => setTimeout(r, 10));
    // Inside its call: nothing started yet, and the stack takes another operation (no lock is held).
    expect((await infra.describeStack(stackName))!.status).toBe('CREATE_COMPLETE');
    await updatedStack({ DesiredCountmain: '1' }, 'ScaleDown');
    expect(await infra.describeStack(stackName)).toMatchObject({ status: 'UPDATE_COMPLETE', parameters: { DesiredCountmain: '1' } });
    expect(settled).toBe(false);
    // Then it lands, on the stack as it is by then.
    expect(await update).toEqual({ noUpdates: false });
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(await infra.describeStack(stackName)).toMatchObject({ status: 'UPDATE_IN_PROGRESS', lastClientToken: token('CF.Update') });
    clock.advance(1000);
    expect((await infra.describeStack(stackName))!.parameters.DesiredCountmain).toBe('3');
  });

  it('a latency fault and an outcome fault strike the same operation together', async () => {
    await createdStack();
    await addFault(testDb.sql, { stack: stackName, fault: 'rollback' });
    await addFault(testDb.sql, { stack: stackName, fault: 'latencyMs:3000' });
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters(), clientToken: token('CF.Update') });
    clock.advance(2900);
    expect((await infra.describeStack(stackName))!.lifecycle).toBe('ROLLING_BACK');
    clock.advance(100);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
  });

  it('a step fault strikes the call whose client token names that step, and no other', async () => {
    await createdStack();
    await addFault(testDb.sql, { step: 'ScaleUp', fault: 'rollback' });
    await updatedStack();
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_COMPLETE');
    await infra.scaleStack({ stackName, desiredCount: 1, clientToken: token('ScaleUp') });
    clock.advance(1000);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
  });

  it('a stack fault leaves other stacks alone, and faults that do not apply to an operation keep their strikes', async () => {
    await addFault(testDb.sql, { stack: 'dev-someone-else', fault: 'createFailed' });
    const exitCode = await addFault(testDb.sql, { stack: stackName, fault: 'exitCode:3', times: 1 });
    const rollback = await addFault(testDb.sql, { stack: stackName, fault: 'rollback', times: 1 });
    await createdStack();
    expect((await infra.describeStack(stackName))!.status).toBe('CREATE_COMPLETE');
    const faults = await listFaults(testDb.sql);
    expect(faults.find((f) => f.id === exitCode.id)!.remaining).toBe(1);
    expect(faults.find((f) => f.id === rollback.id)!.remaining).toBe(1);
  });

  it('a call refused by validation takes no strike', async () => {
    await createdStack();
    const fault = await addFault(testDb.sql, { stack: stackName, fault: 'rollback', times: 1 });
    await expect(
      infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: [{ key: 'Nope', value: '1' }], clientToken: token('CF.Update') }),
    ).rejects.toMatchObject({ code: 'ValidationError' });
    expect((await listFaults(testDb.sql)).find((f) => f.id === fault.id)!.remaining).toBe(1);
  });
});

describe('a crash of the deployer', () => {
  it('loses nothing: a new simulator over the same database sees the operation through, and knows its tokens', async () => {
    await createdStack();
    await infra.updateStack({ stackName, templateUrl: await templateUrl(), parameters: appParameters(), clientToken: token('CF.Update') });
    clock.advance(300);

    // The "restarted" deployer: its own pool, its own simulator, the same database and clock.
    const pool = postgres(testDb.url, { max: 2, onnotice: () => {} });
    try {
      const restarted = simulator(pool, clock, { latencyMs: 1000 });
      expect((await restarted.describeStack(stackName))!.status).toBe('UPDATE_IN_PROGRESS');
      // The retried step repeats its call: the same operation, not a second one.
      const retry = await restarted.updateStack({
        stackName,
        templateUrl: await templateUrl(),
        parameters: appParameters(),
        clientToken: token('CF.Update'),
      });
      expect(retry).toEqual({ noUpdates: false });
      clock.advance(700);
      expect(await restarted.describeStack(stackName)).toMatchObject({ status: 'UPDATE_COMPLETE', lastClientToken: token('CF.Update') });
      const operations = await pool`select operation, client_token from sim_stack_operations where stack_name = ${stackName} order by id`;
      expect(operations.map((o) => o.operation)).toEqual(['create', 'update']);
    } finally {
      await pool.end({ timeout: 5 });
    }
  });
});

describe('listener rules', () => {
  it('reports the priorities the stacks hold on a listener', async () => {
    await createdStack();
    await updatedStack({ ListenerRulePriorityFirstabc: '17' });
    expect(await infra.listenerRulePriorities(LISTENER)).toContain(17);
    expect(await infra.listenerRulePriorities('arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/none')).toEqual([]);
  });

  // Priorities unique to each test: the stacks of earlier tests share the listener.
  const unique = () => String(1000 + Math.floor(Math.random() * 40_000));
  const update = (overrides: Record<string, string>, step: string) =>
    templateUrl().then((url) => infra.updateStack({ stackName, templateUrl: url, parameters: appParameters(overrides), clientToken: token(step) }));

  it('counts the parameters in force: the old priority while an update runs, the new one once it completed', async () => {
    const [before, after] = [unique(), unique()];
    await createdStack();
    await updatedStack({ ListenerRulePriorityFirstabc: before });
    await update({ ListenerRulePriorityFirstabc: after }, 'CF.Update2');
    clock.advance(300);
    expect(await infra.listenerRulePriorities(LISTENER)).toContain(Number(before));
    expect(await infra.listenerRulePriorities(LISTENER)).not.toContain(Number(after));
    clock.advance(1000);
    expect(await infra.listenerRulePriorities(LISTENER)).toContain(Number(after));
    expect(await infra.listenerRulePriorities(LISTENER)).not.toContain(Number(before));
  });

  it('keeps the old priority after a rollback, and none once the stack is deleted', async () => {
    const [before, after] = [unique(), unique()];
    await createdStack();
    await updatedStack({ ListenerRulePriorityFirstabc: before });
    await addFault(testDb.sql, { stack: stackName, fault: 'rollback', times: 1 });
    await update({ ListenerRulePriorityFirstabc: after }, 'CF.Update2');
    clock.advance(2000);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(await infra.listenerRulePriorities(LISTENER)).toContain(Number(before));
    expect(await infra.listenerRulePriorities(LISTENER)).not.toContain(Number(after));
    await infra.deleteStack({ stackName, clientToken: token('delete') });
    clock.advance(2000);
    expect(await infra.listenerRulePriorities(LISTENER)).not.toContain(Number(before));
  });

  it('drops a stack that moved to another listener once the move completed', async () => {
    const priority = unique();
    await createdStack();
    await updatedStack({ ListenerRulePriorityFirstabc: priority });
    await update({ ListenerARN: `${LISTENER}-other`, ListenerRulePriorityFirstabc: priority }, 'CF.Update2');
    clock.advance(300);
    expect(await infra.listenerRulePriorities(LISTENER)).toContain(Number(priority));
    clock.advance(1000);
    expect(await infra.listenerRulePriorities(LISTENER)).not.toContain(Number(priority));
    expect(await infra.listenerRulePriorities(`${LISTENER}-other`)).toEqual([Number(priority)]);
  });
});
