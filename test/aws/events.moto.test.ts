/**
 * Events first, against moto: the EventBridge rule and the SQS queue the README's CloudFormation
 * creates (made here with the SDK: a rule for CloudFormation stack status changes and ECS task
 * state changes of the account, targeting the queue), an event put on the bus, and the deployer's
 * SQS consumer (server/infra/aws/event-queue.ts) reading it and waking the step that waits for that
 * stack (server/engine/workers/aws-events.ts).
 *
 * The step runs on the simulated infra (a `hang` fault keeps its update going, so it waits for its
 * safety-net poll a minute away), in moto's account: events are of the account they come from,
 * and the deployer drops events of an account the deployment does not act in.
 * moto accepts PutEvents with an `aws.*` source, which AWS keeps for its own services.
 */
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_STATUS_CHANGE, TASK_STATE_CHANGE } from '../../server/domain/decisions/aws-events.ts';
import { AwsEventListener, handleAwsEvents } from '../../server/engine/workers/aws-events.ts';
import { createSqsEventQueue } from '../../server/infra/aws/event-queue.ts';
import { createAwsInfraProvider } from '../../server/infra/aws/provider.ts';
import type { EventQueue } from '../../server/infra/port.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, demoClusterYaml, waitFor } from '../support/deployments.ts';
import { startMoto } from '../support/moto.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const credentials = { accessKeyId: 'moto-test-key', secretAccessKey: 'moto-test-secret' };

const moto = await startMoto();
if (!moto) console.warn('test/aws/events.moto.test.ts skipped: moto_server is not on the PATH');

describe.skipIf(!moto)('AWS events through EventBridge and SQS (moto)', () => {
  let t: TestDeployer;
  let queueUrl: string;
  let queue: EventQueue;
  const events = new EventBridgeClient({ region: REGION, endpoint: moto?.endpoint, credentials });
  const sqs = new SQSClient({ region: REGION, endpoint: moto?.endpoint, credentials });

  beforeAll(async () => {
    // What the README's CloudFormation makes: the queue, its policy letting EventBridge send, the rule and its target.
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'o5-deployer-events' }))).QueueUrl!;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    const queueArn = Attributes!.QueueArn!;
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: {
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn }],
          }),
        },
      }),
    );
    await events.send(
      new PutRuleCommand({
        Name: 'o5-deployer-events',
        EventPattern: JSON.stringify({ source: ['aws.cloudformation', 'aws.ecs'], 'detail-type': [STACK_STATUS_CHANGE, TASK_STATE_CHANGE] }),
      }),
    );
    await events.send(new PutTargetsCommand({ Rule: 'o5-deployer-events', Targets: [{ Id: 'deployer', Arn: queueArn }] }));

    // The deployer, its cluster in moto's account, naming the queue.
    t = await startTestDeployer();
    const cluster = demoClusterYaml.replaceAll('000000000000', ACCOUNT).replace(
      /o5Deployer: \{ assumeRoleArn: "([^"]+)" \}/,
      `o5Deployer: { assumeRoleArn: "$1", eventQueueUrl: "https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/o5-deployer-events" }`,
    );
    const put = await t.request('/v1/clusters/demo', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: cluster });
    expect(put.status).toBe(200);
    const { data } = await t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'demo' } } });
    expect(data!.deployerAccess).toMatchObject({ account: ACCOUNT, eventQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/o5-deployer-events` });
    // The consumer the AWS infra opens for that setting, here on moto's endpoint (the URL moto gave).
    queue = createSqsEventQueue({ setting: { target: { cluster: 'demo', account: ACCOUNT, region: REGION }, queueUrl }, credentials: async () => credentials, endpoint: moto!.endpoint, waitSeconds: 1 });
  });
  afterAll(async () => {
    await queue?.close();
    await t?.stop();
    events.destroy();
    sqs.destroy();
    await moto?.stop();
  });

  /** Receives until the queue has given `n` messages (moto delivers the rule's targets as PutEvents returns). */
  async function receive(n: number) {
    const got: Awaited<ReturnType<EventQueue['receive']>> = [];
    for (let i = 0; got.length < n && i < 10; i++) got.push(...(await queue.receive(new AbortController().signal)));
    return got;
  }

  it('an event put on the bus reaches the queue through the rule, and wakes the step that watches its stack', async () => {
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'v1' })).id, undefined, 60_000)).status).toBe('DONE');
    // The next update hangs: CF.Apply waits, its next poll a minute away.
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'CF.Apply', fault: 'hang', times: 1 } });
    const { id: deploymentId } = await deploy(t.client, { version: 'v2' });
    const sql = t.deployer.services.sql;
    for (let i = 0; ; i++) {
      const [job] = await sql`select 1 from pgboss.job where name = 'deployment-step' and state = 'created'
        and data->>'deploymentId' = ${deploymentId} and data->>'step' = 'CF.Apply' and start_after > now() + interval '30 seconds'`;
      if (job) break;
      if (i > 400) throw new Error('CF.Apply never waited for its safety-net poll');
      await new Promise((r) => setTimeout(r, 25));
    }

    const stackId = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/demo-shop/6f1c2d30-0000-4000-8000-000000000001`;
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'aws.cloudformation',
            DetailType: STACK_STATUS_CHANGE,
            Resources: [stackId],
            Detail: JSON.stringify({ 'stack-id': stackId, 'status-details': { status: 'UPDATE_COMPLETE', 'status-reason': '' } }),
          },
        ],
      }),
    );
    expect(put.FailedEntryCount ?? 0).toBe(0);
    const messages = await receive(1);
    expect(messages).toHaveLength(1);
    const body = JSON.parse(messages[0]!.body);
    // moto's envelope has no `account` (AWS's does); the deployer reads it from the stack's ARN then.
    expect(body).toMatchObject({ 'detail-type': STACK_STATUS_CHANGE, source: 'aws.cloudformation', region: REGION, resources: [stackId] });

    const handled = await handleAwsEvents(t.deployer.services.engine, messages.map((m) => m.body));
    expect(handled.woken).toEqual([{ deploymentId, step: 'CF.Apply', eventId: body.id }]);
    await queue.delete(messages.map((m) => m.receipt));
    // The woken job ran at once: completed, carrying the event.
    for (let i = 0; ; i++) {
      const [job] = await sql`select 1 from pgboss.job where name = 'deployment-step' and state = 'completed'
        and data->>'deploymentId' = ${deploymentId} and data->'woken'->>'eventId' = ${body.id}`;
      if (job) break;
      if (i > 400) throw new Error('the woken job did not run');
      await new Promise((r) => setTimeout(r, 25));
    }
    // Deleted: nothing comes back.
    expect(await receive(0)).toEqual([]);
    // Delivered again (SQS is at least once), the same event does nothing.
    expect(await handleAwsEvents(t.deployer.services.engine, messages.map((m) => m.body))).toMatchObject({ repeated: 1, woken: [] });
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: deploymentId } }, body: {} });
  });

  it('the rule passes task state changes too, and nothing else', async () => {
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'aws.ecs',
            DetailType: TASK_STATE_CHANGE,
            Detail: JSON.stringify({
              taskArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/demo/0a1b`,
              clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/demo`,
              taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/demo-shop_migrate_main:1`,
              lastStatus: 'STOPPED',
            }),
          },
          { Source: 'aws.ec2', DetailType: 'EC2 Instance State-change Notification', Detail: JSON.stringify({ state: 'running' }) },
        ],
      }),
    );
    expect(put.FailedEntryCount ?? 0).toBe(0);
    const messages = await receive(1);
    expect(messages.map((m) => JSON.parse(m.body)['detail-type'])).toEqual([TASK_STATE_CHANGE]);
    // No migration is running on that stack: dropped, and deleted all the same.
    expect(await handleAwsEvents(t.deployer.services.engine, messages.map((m) => m.body))).toMatchObject({ dropped: 1, woken: [] });
    await queue.delete(messages.map((m) => m.receipt));
    expect(await receive(0)).toEqual([]);
  });
  it('on the AWS infra, the listener reads the queue each cluster names, with the cluster\'s role, and the event wakes the step by itself', async () => {
    const provider = createAwsInfraProvider({ endpoint: moto!.endpoint, credentials, templateBucket: 'templates', eventWaitSeconds: 1, maxAttempts: 1 });
    const listener = new AwsEventListener(t.deployer.services.engine, provider);
    await listener.start();
    try {
      expect(listener.covers({ account: ACCOUNT, region: REGION })).toBe(true);
      expect(listener.covers({ account: '999999999999', region: REGION })).toBe(false);
      // The deployment terminated in the first test still settles its hung CF.Apply; its poll is a minute away.
      const sql = t.deployer.services.sql;
      const [{ id: deploymentId }] = await sql`select id from deployments where app_version = 'v2'`;
      const stackId = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/demo-shop/6f1c2d30-0000-4000-8000-000000000002`;
      await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'aws.cloudformation', DetailType: STACK_STATUS_CHANGE, Resources: [stackId], Detail: JSON.stringify({ 'stack-id': stackId, 'status-details': { status: 'UPDATE_ROLLBACK_COMPLETE' } }) }],
        }),
      );
      // Nobody calls the handler here: the listener's consumer receives, wakes the step, deletes.
      for (let i = 0; ; i++) {
        const [job] = await sql`select 1 from pgboss.job where name = 'deployment-step' and state = 'completed'
          and data->>'deploymentId' = ${deploymentId} and data->>'step' = 'CF.Apply' and data->'woken' is not null
          and data->'woken'->>'eventId' <> (select data->'woken'->>'eventId' from pgboss.job where name = 'deployment-step' and data->>'deploymentId' = ${deploymentId} and data->'woken' is not null order by created_on limit 1)`;
        if (job) break;
        if (i > 400) throw new Error('the listener did not wake the step');
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      // (A long poll cut short by the stop may take a message with it until its visibility timeout:
      // SQS behaves so too, and the message then comes back to the next receive.)
      await listener.stop();
      await provider.close();
    }
  });
});
