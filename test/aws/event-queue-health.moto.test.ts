/**
 * A cluster's event queue that cannot be read (deleted, renamed, the role lacking
 * sqs:ReceiveMessage, a URL of another region) must not count as bringing the cluster's events:
 * otherwise every step and wait phase of every deployment in that account and region waits for its
 * 60 to 90 s safety-net poll instead of polling quickly, for as long as the queue stays unreadable.
 * Once the queue can be read again, the account and region are event-driven again.
 */
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsEventListener } from '../../server/engine/workers/aws-events.ts';
import { createAwsInfraProvider } from '../../server/infra/aws/provider.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoClusterYaml } from '../support/deployments.ts';
import { startMoto } from '../support/moto.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const credentials = { accessKeyId: 'moto-test-key', secretAccessKey: 'moto-test-secret' };
const QUEUE = 'o5-deployer-events-missing';

const moto = await startMoto();
if (!moto) console.warn('test/aws/event-queue-health.moto.test.ts skipped: moto_server is not on the PATH');

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!moto)('an event queue that cannot be read (moto)', () => {
  let t: TestDeployer;
  const sqs = new SQSClient({ region: REGION, endpoint: moto?.endpoint, credentials });

  beforeAll(async () => {
    t = await startTestDeployer();
    // The cluster names a queue that does not exist (yet).
    const cluster = demoClusterYaml.replaceAll('000000000000', ACCOUNT).replace(
      /o5Deployer: \{ assumeRoleArn: "([^"]+)" \}/,
      `o5Deployer: { assumeRoleArn: "$1", eventQueueUrl: "https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${QUEUE}" }`,
    );
    const put = await t.request('/v1/clusters/demo', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: cluster });
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await t?.stop();
    sqs.destroy();
    await moto?.stop();
  });

  it('does not count as bringing events while it cannot be read, and does again once it can', async () => {
    const provider = createAwsInfraProvider({ endpoint: moto!.endpoint, credentials, templateBucket: 'templates', eventWaitSeconds: 1, maxAttempts: 1 });
    const listener = new AwsEventListener(t.deployer.services.engine, provider);
    await listener.start();
    try {
      // ReceiveMessage answers QueueDoesNotExist: no event of the account and region can come.
      await eventually(() => !listener.covers({ account: ACCOUNT, region: REGION }), 'the unreadable queue stops counting as event-driven');
      // The queue is created: the next receive works, and events are counted on again.
      await sqs.send(new CreateQueueCommand({ QueueName: QUEUE }));
      await eventually(() => listener.covers({ account: ACCOUNT, region: REGION }), 'the readable queue counts again');
    } finally {
      await listener.stop();
      await provider.close();
    }
  });
});
