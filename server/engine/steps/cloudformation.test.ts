/**
 * The CloudFormation step executors against the simulated cloud on a real Postgres, with a clock
 * the test moves: a stack busy with someone else's operation makes the step wait and then start,
 * instead of failing on CloudFormation's refusal.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import type { Config } from '../../config.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { InfraError, type InfraPort } from '../../infra/port.ts';
import { appParameters, appTemplate, manualClock, simulator, type ManualClock } from '../../infra/simulated/test-helpers.ts';
import { createLogger } from '../../logger.ts';
import { cfScale, cfUpdate, isStackBusy } from './cloudformation.ts';
import type { StepContext } from './step-executor.ts';

let testDb: TestDatabase;
let clock: ManualClock;
let infra: InfraPort;
let stackName: string;
const deploymentId = randomUUID();

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});
beforeEach(async () => {
  clock = manualClock();
  infra = simulator(testDb.sql, clock, { latencyMs: 1000 });
  stackName = `dev-app${randomUUID().slice(0, 8)}`;
  await infra.createEmptyStack({ stackName, clientToken: clientTokenFor(deploymentId, `${stackName}.create`) });
  clock.advance(1000);
  const { url } = await infra.storeTemplate({ key: `${stackName}/t.json`, body: appTemplate() });
  await infra.updateStack({ stackName, templateUrl: url, parameters: appParameters(), clientToken: clientTokenFor(deploymentId, `${stackName}.update`) });
  clock.advance(1000);
});

function scaleContext(desiredCount: number): StepContext<DeploymentStep<'cf_scale'>> {
  const step: DeploymentStep<'cf_scale'> = { name: 'ScaleUp', type: 'cf_scale', dependsOn: [], when: 'success', status: 'ACTIVE', input: { stackName, desiredCount } };
  return {
    deployment: { stack: null, steps: [] } as unknown as DeploymentData,
    step,
    endAnnounced: false,
    firstAttempt: true,
    infra,
    config: {} as Config,
    logger: createLogger('silent', { pretty: false }),
    clientToken: clientTokenFor(deploymentId, `${stackName}.ScaleUp`),
    tokenFor: (label) => clientTokenFor(deploymentId, `${stackName}.ScaleUp.${label}`),
    outputsOf: () => ({}),
    previousVersion: async () => null,
    allocatePriorities: async (_listener, _stack, resolve) => resolve([]).value,
  };
}

async function updateContext(image: string): Promise<StepContext<DeploymentStep<'cf_update'>>> {
  const { url } = await infra.storeTemplate({ key: `${stackName}/${image}.json`, body: appTemplate({ image }) });
  const parameters = appParameters({ VersionTag: image }).map(({ key, value }) => ({ name: key, value }));
  const step: DeploymentStep<'cf_update'> = {
    name: 'CF.Update',
    type: 'cf_update',
    dependsOn: [],
    when: 'success',
    status: 'ACTIVE',
    input: { stackName, template: { bucket: null, key: `${stackName}/${image}.json`, region: 'eu-west-1' }, parameters, desiredCount: 0, snsTopics: [] },
  };
  return { ...scaleContext(0), step, deployment: { templateUrl: url, stack: null, steps: [] } as unknown as DeploymentData, clientToken: clientTokenFor(deploymentId, `${stackName}.CF.Update`) };
}

describe('a CloudFormation step whose end an AWS event announces', () => {
  it('does not look at the stack right after starting its operation: it waits for the event, and looks once woken', async () => {
    let describes = 0;
    const counting: InfraPort = { ...infra, describeStack: (name) => (describes++, infra.describeStack(name)) };
    const ctx = { ...scaleContext(3), infra: counting, endAnnounced: true };
    expect(await cfScale.start(ctx)).toEqual({ kind: 'pending', state: {} });
    expect(describes).toBe(0);
    clock.advance(1000);
    expect(await cfScale.check(ctx, {})).toMatchObject({ kind: 'done', output: { status: 'UPDATE_COMPLETE' } });
    expect(describes).toBe(1);
  });
});

describe("a CloudFormation step told by an AWS event that its own operation completed", () => {
  const counting = () => {
    const calls = { describes: 0 };
    const port: InfraPort = { ...infra, describeStack: (name) => (calls.describes++, infra.describeStack(name)) };
    return { calls, port };
  };

  it('a scale ends on the event\'s word, without describing the stack: nothing reads its outputs', async () => {
    const { calls, port } = counting();
    const ctx = { ...scaleContext(3), infra: port, endAnnounced: true };
    expect(await cfScale.start(ctx)).toEqual({ kind: 'pending', state: {} });
    clock.advance(1000);
    expect(await cfScale.check({ ...ctx, completedByEvent: 'UPDATE_COMPLETE' }, {})).toEqual({ kind: 'done', output: { status: 'UPDATE_COMPLETE' } });
    expect(calls.describes).toBe(0);
  });

  it('CF.Update still describes the stack: the database steps read its outputs', async () => {
    const { calls, port } = counting();
    const ctx = { ...(await updateContext('v3')), infra: port, endAnnounced: true };
    expect(await cfUpdate.start(ctx)).toEqual({ kind: 'pending', state: {} });
    calls.describes = 0;
    clock.advance(1000);
    const done = await cfUpdate.check({ ...ctx, completedByEvent: 'UPDATE_COMPLETE' }, {});
    expect(done).toMatchObject({ kind: 'done', output: { status: 'UPDATE_COMPLETE', outputs: expect.any(Object) } });
    expect(calls.describes).toBe(1);
  });

  it('a scale woken by no such word (a rollback, another operation) describes the stack and says what CloudFormation said', async () => {
    const { calls, port } = counting();
    const ctx = { ...scaleContext(3), infra: port, endAnnounced: true };
    await cfScale.start(ctx);
    expect(await cfScale.onDeadline!(ctx, {})).toBe('cancelled');
    clock.advance(2000);
    calls.describes = 0;
    const rolledBack = await cfScale.check(ctx, {});
    expect(rolledBack).toMatchObject({ kind: 'failed', error: expect.stringMatching(new RegExp(`^Stack ${stackName} rolled back \\(UPDATE_ROLLBACK_COMPLETE\\)`)) });
    expect(calls.describes).toBe(1);
  });
});

describe('CF.Update right after its deployment made the empty placeholder stack', () => {
  /** CF.Update's context on a placeholder its deployment's CF.CreateEmpty just made, counting describes. */
  async function onPlaceholder(name: string, version: string, firstAttempt: boolean) {
    const { url } = await infra.storeTemplate({ key: `${name}/t.json`, body: appTemplate() });
    await infra.createEmptyStack({ stackName: name, clientToken: clientTokenFor(deploymentId, `${name}.CF.CreateEmpty`) });
    clock.advance(1000);
    const calls = { describes: 0 };
    const counted: InfraPort = { ...infra, describeStack: (stack) => (calls.describes++, infra.describeStack(stack)) };
    const base = await updateContext(version);
    const step = { ...base.step, input: { ...base.step.input, stackName: name } };
    const steps = [{ name: 'CF.CreateEmpty', type: 'cf_create', status: 'DONE' }, step] as DeploymentData['steps'];
    const ctx = { ...base, step, infra: counted, endAnnounced: true, firstAttempt, deployment: { templateUrl: url, stack: null, steps } as unknown as DeploymentData };
    return { ctx, calls };
  }

  it('does not describe the stack for parameters to keep: the placeholder has none', async () => {
    const placeholder = `${stackName}-new`;
    const { ctx, calls } = await onPlaceholder(placeholder, 'v4', true);
    expect(await cfUpdate.start(ctx)).toEqual({ kind: 'pending', state: {} });
    expect(calls.describes).toBe(0);
    clock.advance(1000);
    expect((await infra.describeStack(placeholder))!).toMatchObject({ status: 'UPDATE_COMPLETE', parameters: expect.objectContaining({ VersionTag: 'v4' }) });
  });

  it('describes it on a later try: an earlier one may have sent its update already', async () => {
    const { ctx, calls } = await onPlaceholder(`${stackName}-retried`, 'v5', false);
    expect(await cfUpdate.start(ctx)).toEqual({ kind: 'pending', state: {} });
    expect(calls.describes).toBe(1);
  });
});

describe('a CloudFormation step on a stack busy with another operation', () => {
  it('an update waits too, then applies its template once the other operation is over', async () => {
    await infra.scaleStack({ stackName, desiredCount: 2, clientToken: clientTokenFor(deploymentId, `${stackName}.other`) });
    clock.advance(300);
    const ctx = await updateContext('v2');
    expect(await cfUpdate.start(ctx)).toEqual({ kind: 'pending', state: { stackBusy: true } });
    clock.advance(1000);
    expect(await cfUpdate.check(ctx, { stackBusy: true })).toEqual({ kind: 'pending', state: {} });
    clock.advance(1000);
    expect(await cfUpdate.check(ctx, {})).toMatchObject({ kind: 'done', output: { status: 'UPDATE_COMPLETE' } });
    expect((await infra.describeStack(stackName))!.parameters.VersionTag).toBe('v2');
  });

  it('waits while the other operation runs, then starts its own and sees it through', async () => {
    // Someone else's update (a deployment terminated while its step was starting) is still going.
    await infra.scaleStack({ stackName, desiredCount: 2, clientToken: clientTokenFor(deploymentId, `${stackName}.other`) });
    clock.advance(300);
    const ctx = scaleContext(1);

    const refused = await infra.scaleStack({ stackName, desiredCount: 1, clientToken: ctx.clientToken }).catch((err: unknown) => err);
    expect(isStackBusy(refused)).toBe(true);

    expect(await cfScale.start(ctx)).toEqual({ kind: 'pending', state: { stackBusy: true } });
    expect(await cfScale.check(ctx, { stackBusy: true })).toEqual({ kind: 'pending', state: { stackBusy: true } });
    // Its deadline does not cancel the other operation: it is not the step's own.
    expect(await cfScale.onDeadline!(ctx, { stackBusy: true })).toBe('none');
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_IN_PROGRESS');

    clock.advance(1000); // the other update completes
    const started = await cfScale.check(ctx, { stackBusy: true });
    expect(started).toEqual({ kind: 'pending', state: {} });
    expect((await infra.describeStack(stackName))!).toMatchObject({ status: 'UPDATE_IN_PROGRESS', lastClientToken: ctx.clientToken });

    clock.advance(1000);
    const done = await cfScale.check(ctx, {});
    expect(done).toMatchObject({ kind: 'done', output: { status: 'UPDATE_COMPLETE' } });
    expect((await infra.describeStack(stackName))!.parameters.DesiredCountmain).toBe('1');
  });

  it('cancels its own update at the deadline, and says so', async () => {
    const ctx = scaleContext(3);
    expect(await cfScale.start(ctx)).toEqual({ kind: 'pending', state: {} });
    expect(await cfScale.onDeadline!(ctx, {})).toBe('cancelled');
    clock.advance(2000);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
  });

  it('at its deadline, finds its own update complete and cleaning up: completing, neither cancelled nor failed', async () => {
    const ctx = scaleContext(4);
    await cfScale.start(ctx);
    // 1 s per operation: UPDATE_IN_PROGRESS for the first half, UPDATE_COMPLETE_CLEANUP_IN_PROGRESS for the second.
    clock.advance(700);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    expect(await cfScale.onDeadline!(ctx, {})).toBe('completing');
    clock.advance(1000);
    expect(await cfScale.check(ctx, {})).toMatchObject({ kind: 'done', output: { status: 'UPDATE_COMPLETE' } });
    expect((await infra.describeStack(stackName))!.parameters.DesiredCountmain).toBe('4');
  });

  it("does not cancel at its deadline an update that is not its own (the next deployment's, after a terminate)", async () => {
    const ctx = scaleContext(1);
    await infra.scaleStack({ stackName, desiredCount: 2, clientToken: clientTokenFor(deploymentId, `${stackName}.next`) });
    clock.advance(300);
    expect(await cfScale.onDeadline!(ctx, {})).toBe('none');
    clock.advance(1000);
    expect((await infra.describeStack(stackName))!.status).toBe('UPDATE_COMPLETE');
  });

  it('on terminate describes the stack once: cancels its own update, and waits for nothing once it is over', async () => {
    let describes = 0;
    const counted: InfraPort = { ...infra, describeStack: (name) => (describes++, infra.describeStack(name)) };
    const ctx = { ...scaleContext(3), infra: counted };
    expect(await cfScale.start(ctx)).toEqual({ kind: 'pending', state: {} });
    describes = 0;
    expect(await cfScale.onTerminate!(ctx, {})).toBe(true);
    expect(describes).toBe(1);
    clock.advance(2000);
    describes = 0;
    expect(await cfScale.onTerminate!(ctx, {})).toBe(false);
    expect(describes).toBe(1);
  });

  it('takes only the busy refusal for one: other refusals fail the step as before', () => {
    const busy = 'Stack:arn:aws:cloudformation:us-east-1:1:stack/x/1 is in UPDATE_IN_PROGRESS state and can not be updated.';
    expect(isStackBusy(new InfraError('ValidationError', busy))).toBe(true);
    expect(isStackBusy(new InfraError('ValidationError', 'Template format error: unresolved resource dependencies'))).toBe(false);
    expect(isStackBusy(new InfraError('ValidationError', 'Stack:x is in UPDATE_ROLLBACK_FAILED state and can not be updated.'))).toBe(false);
    expect(isStackBusy(new Error(busy))).toBe(false);
  });
});
