// Uses moto (moto_server on the PATH, with test/aws/moto_server_as_cloudformation.py, which refuses a
// parameter the template does not declare as CloudFormation does, where moto 5 drops it without a
// word; skipped with a warning without it): CF.Restore (server/engine/steps/cloudformation.ts)
// through the real SDK clients, putting back the template of the last deployment that ended DONE on
// a stack that has run another template since. That template added a service (DesiredCountworker)
// and dropped a parameter the earlier one declares (QueueName), so the parameters the stack was
// found with are not those of the template put back: the restore sends exactly the ones that
// template declares (a count of a service absent then at 0, a parameter with a default left to it).
// And a change set (CF.Apply of a BEFORE branch) given a value copied from a description that
// masked it (a NoEcho VersionTag of an adopted stack) keeps the stack's value (UsePreviousValue).
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../server/config.ts';
import type { DeploymentData } from '../../server/domain/machines/deployment.ts';
import type { DeploymentStep } from '../../server/domain/machines/deployment-steps.ts';
import { cfRestore } from '../../server/engine/steps/cloudformation.ts';
import type { StepContext } from '../../server/engine/steps/step-executor.ts';
import { createAwsInfra } from '../../server/infra/aws/index.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import { InfraError, type InfraPort } from '../../server/infra/port.ts';
import { createLogger } from '../../server/logger.ts';
import { startMoto } from '../support/moto.ts';

const moto = await startMoto({ plugin: fileURLToPath(new URL('./moto_server_as_cloudformation.py', import.meta.url)) });
if (!moto) console.warn('test/aws/restore-declared-parameters.moto.test.ts skipped: moto_server is not on the PATH');

afterAll(async () => {
  await moto?.stop();
});

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const deploymentId = '0b9c7c4e-3a51-4c8e-9d2f-5e6a7b8c9d0e';
const previousId = '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

/** A template with these parameters, each shown in an output (as only a test would). */
function template(parameters: Record<string, { Type: string; Default?: string }>): string {
  return JSON.stringify({
    Parameters: parameters,
    Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: Object.fromEntries(Object.keys(parameters).map((key) => [`Out${key}`, { Value: { Ref: key } }])),
  });
}

/** The template of the last deployment that ended DONE. */
const previousTemplate = template({
  VersionTag: { Type: 'String' },
  DesiredCountapi: { Type: 'Number' },
  DesiredCountworker: { Type: 'Number' },
  QueueName: { Type: 'String', Default: 'jobs' },
});
/** What the stack runs since: a later deployment that failed left it (no worker, no queue, a cache). */
const laterParameters = { VersionTag: 'v2', DesiredCountapi: '2', CacheSize: '64' };
const laterTemplate = template({ VersionTag: { Type: 'String' }, DesiredCountapi: { Type: 'Number' }, CacheSize: { Type: 'Number' } });

describe.skipIf(!moto)('CF.Restore of an older template on a stack whose parameters have changed since, against moto', () => {
  let infra: InfraPort;
  let cf: CloudFormationClient;
  let s3: S3Client;
  const stackName = 'demo-restoredeclared';

  beforeAll(async () => {
    const endpoint = moto!.endpoint;
    infra = createAwsInfra({ region, endpoint, credentials, templateBucket: 'templates', retry: { retries: 1, baseDelayMs: 5 } });
    cf = new CloudFormationClient({ region, endpoint, credentials });
    s3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'templates' }));
    await cf.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: laterTemplate,
        Parameters: Object.entries(laterParameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      }),
    );
  });
  afterAll(async () => {
    await infra?.close();
    cf?.destroy();
    s3?.destroy();
  });

  function restoreContext(templateUrl: string): StepContext<DeploymentStep<'cf_restore'>> {
    const step: DeploymentStep<'cf_restore'> = { name: 'CF.Restore', type: 'cf_restore', dependsOn: [], when: 'failure', status: 'ACTIVE', input: { stackName } };
    const stack = { status: 'UPDATE_COMPLETE', lifecycle: 'COMPLETE', outputs: {}, parameters: laterParameters, tags: {} };
    return {
      deployment: { deploymentId, stack, steps: [] } as unknown as DeploymentData,
      step,
      endAnnounced: false,
      firstAttempt: true,
      infra,
      config: {} as Config,
      logger: createLogger('silent', { pretty: false }),
      clientToken: clientTokenFor(deploymentId, 'CF.Restore'),
      tokenFor: (label) => clientTokenFor(deploymentId, `CF.Restore.${label}`),
      outputsOf: () => ({}),
      previousVersion: async () => ({ deploymentId: previousId, version: 'v1', templateUrl }),
      allocatePriorities: async (_listener, _stack, resolve) => resolve([]).value,
    };
  }

  it('CloudFormation (the plugin) refuses the parameters as the stack was found: CacheSize is not in the template put back', async () => {
    const { url } = await infra.storeTemplate({ key: `demo/restoredeclared/${previousId}.json`, body: previousTemplate });
    const asFound = Object.entries(laterParameters).map(([key, value]) => ({ key, value }));
    const refused = await infra.updateStack({ stackName, templateUrl: url, parameters: asFound, clientToken: clientTokenFor(deploymentId, 'AsFound') }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(InfraError);
    expect((refused as InfraError).message).toContain('Parameters: [CacheSize] do not exist in the template');
  });

  it('puts the template back with exactly the parameters it declares', async () => {
    const { url } = await infra.storeTemplate({ key: `demo/restoredeclared/${previousId}.json`, body: previousTemplate });
    const progress = await cfRestore.start(restoreContext(url));
    expect(progress).toMatchObject({
      kind: 'done',
      output: {
        restored: `put back version v2 (the template of deployment ${previousId}) at the desired count it ran with (api: 2, worker: 0)`,
        parameters: { VersionTag: 'v2', DesiredCountapi: '2', DesiredCountworker: '0', QueueName: 'jobs' },
      },
    });
    const restored = (await infra.describeStack(stackName))!;
    expect(restored.status).toBe('UPDATE_COMPLETE');
    // moto keeps describing a parameter the new template dropped (CacheSize); the outputs are the template's.
    expect(restored.parameters).toMatchObject({ VersionTag: 'v2', DesiredCountapi: '2', DesiredCountworker: '0', QueueName: 'jobs' });
    expect(restored.outputs).toEqual({ OutVersionTag: 'v2', OutDesiredCountapi: '2', OutDesiredCountworker: '0', OutQueueName: 'jobs' });
  });
});

describe.skipIf(!moto)('a change set given the mask of a NoEcho parameter, against moto', () => {
  let infra: InfraPort;
  let cf: CloudFormationClient;
  const stackName = 'demo-noechoversion';

  beforeAll(async () => {
    const endpoint = moto!.endpoint;
    infra = createAwsInfra({ region, endpoint, credentials, templateBucket: 'templates', retry: { retries: 1, baseDelayMs: 5 } });
    cf = new CloudFormationClient({ region, endpoint, credentials });
    const adopted = JSON.parse(template({ VersionTag: { Type: 'String' }, DesiredCountapi: { Type: 'Number' } }));
    adopted.Parameters.VersionTag.NoEcho = true;
    await cf.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: JSON.stringify(adopted),
        Parameters: [
          { ParameterKey: 'VersionTag', ParameterValue: 'o5-v1' },
          { ParameterKey: 'DesiredCountapi', ParameterValue: '2' },
        ],
      }),
    );
  });
  afterAll(async () => {
    await infra?.close();
    cf?.destroy();
  });

  it('sends it as UsePreviousValue: the version the stack runs is kept, not set to ****', async () => {
    const found = (await infra.describeStack(stackName))!;
    expect(found.parameters.VersionTag).toBe('****');
    // The deployer's template (VersionTag not NoEcho), with the running version pinned as described.
    const { url } = await infra.storeTemplate({ key: 'demo/noechoversion/d.json', body: template({ VersionTag: { Type: 'String' }, DesiredCountapi: { Type: 'Number' } }) });
    const changeSetName = 'apply-d';
    await infra.createChangeSet({
      stackName,
      changeSetName,
      templateUrl: url,
      parameters: [
        { key: 'VersionTag', value: found.parameters.VersionTag! },
        { key: 'DesiredCountapi', value: '3' },
      ],
      clientToken: clientTokenFor(deploymentId, 'CF.Apply.ChangeSet'),
    });
    await infra.executeChangeSet({ stackName, changeSetName, clientToken: clientTokenFor(deploymentId, 'CF.Apply') });
    const applied = (await infra.describeStack(stackName))!;
    // The applied template declares VersionTag plainly: shown, it is the value kept, not a mask
    // (moto does not compute the outputs of an executed change set again).
    expect(applied.parameters).toMatchObject({ VersionTag: 'o5-v1', DesiredCountapi: '3' });
  });
});
