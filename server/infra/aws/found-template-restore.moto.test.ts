// Uses moto (moto_server on the PATH, with test/aws/moto_server_as_cloudformation.py, which masks
// NoEcho parameters and refuses a Transform without CAPABILITY_AUTO_EXPAND as CloudFormation does;
// skipped with a warning without it): what CF.Restore sends to put back the template found on an
// adopted stack (server/engine/steps/cloudformation.ts), through the real SDK clients. A template
// of SAM (a `Transform`) with a NoEcho password: GetTemplate gives it back as it was written, and
// UpdateStack takes it back with CAPABILITY_AUTO_EXPAND and the password kept (UsePreviousValue),
// not the `****` DescribeStacks showed.
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foundTemplateKey } from '../../domain/cloudformation/found-stack.ts';
import { NO_ECHO_MASK, restoreParameters } from '../../domain/cloudformation/restore-parameters.ts';
import type { InfraPort } from '../port.ts';
import { startMoto } from '../../../test/support/moto.ts';
import { createAwsInfra } from './index.ts';

const moto = await startMoto({ plugin: fileURLToPath(new URL('../../../test/aws/moto_server_as_cloudformation.py', import.meta.url)) });
if (!moto) console.warn('server/infra/aws/found-template-restore.moto.test.ts skipped: moto_server is not on the PATH');

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const stackName = 'demo-samapp';

/** What o5 (or a person with SAM) left: YAML, a Transform, a NoEcho password that an output shows (as only a test would). */
const samTemplate = `AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  VersionTag:
    Type: String
  DesiredCountmain:
    Type: Number
  DbMasterPassword:
    Type: String
    NoEcho: true
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  Version:
    Value:
      Ref: VersionTag
  Count:
    Value:
      Ref: DesiredCountmain
  PasswordInUse:
    Value:
      Ref: DbMasterPassword
`;

describe.skipIf(!moto)('putting back a found template with a Transform and a NoEcho parameter, against moto', () => {
  let infra: InfraPort;
  let cf: CloudFormationClient;
  let s3: S3Client;

  beforeAll(async () => {
    const endpoint = moto!.endpoint;
    infra = createAwsInfra({ region, endpoint, credentials, templateBucket: 'templates', retry: { retries: 1, baseDelayMs: 5 } });
    cf = new CloudFormationClient({ region, endpoint, credentials });
    s3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'templates' }));
    await cf.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: samTemplate,
        Parameters: [
          { ParameterKey: 'VersionTag', ParameterValue: 'o5-v1' },
          { ParameterKey: 'DesiredCountmain', ParameterValue: '2' },
          { ParameterKey: 'DbMasterPassword', ParameterValue: 'hunter2' },
        ],
        Capabilities: ['CAPABILITY_AUTO_EXPAND'],
      }),
    );
  });
  afterAll(async () => {
    await infra?.close();
    cf?.destroy();
    s3?.destroy();
    await moto?.stop();
  });

  it('the stack as the wait phase finds it: the NoEcho value masked, the template as written (Transform kept)', async () => {
    const found = (await infra.describeStack(stackName))!;
    expect(found.parameters).toEqual({ VersionTag: 'o5-v1', DesiredCountmain: '2', DbMasterPassword: NO_ECHO_MASK });
    expect(found.outputs.PasswordInUse).toBe('hunter2');
    expect(await infra.stackTemplate(stackName)).toBe(samTemplate);
  });

  it('scales the stack over its previous template, which CloudFormation expands again (CAPABILITY_AUTO_EXPAND)', async () => {
    expect(await infra.scaleStack({ stackName, desiredCount: 0, clientToken: 'd0123456789ab-ScaleDown' })).toEqual({ noUpdates: false });
    const scaled = (await infra.describeStack(stackName))!;
    expect(scaled.parameters.DesiredCountmain).toBe('0');
    expect(scaled.outputs.PasswordInUse).toBe('hunter2');
  });

  it('puts the found template back with its parameters: the NoEcho one keeps its value, the mask is not written', async () => {
    // As the wait phase kept them: the parameters described, the template read with GetTemplate.
    const found = { parameters: { VersionTag: 'o5-v1', DesiredCountmain: '2', DbMasterPassword: NO_ECHO_MASK } };
    const { url } = await infra.storeTemplate({ key: foundTemplateKey('demo/samapp/d0123456789ab.json'), body: (await infra.stackTemplate(stackName))! });
    // The parameters it declares, read from the bucket (the YAML as written, its Transform kept).
    const declared = await infra.templateParameters(url);
    expect(declared).toEqual([
      { key: 'VersionTag', noEcho: false },
      { key: 'DesiredCountmain', noEcho: false },
      { key: 'DbMasterPassword', noEcho: true },
    ]);
    const sent = restoreParameters(found.parameters, (await infra.describeStack(stackName))!.parameters, declared);
    expect(sent).toEqual({
      kind: 'ready',
      parameters: [
        { key: 'VersionTag', value: 'o5-v1' },
        { key: 'DesiredCountmain', value: '2' },
        { key: 'DbMasterPassword', usePreviousValue: true },
      ],
      values: found.parameters,
    });
    if (sent.kind !== 'ready') return;
    expect(await infra.updateStack({ stackName, templateUrl: url, parameters: sent.parameters, clientToken: 'd0123456789ab-CF-Restore' })).toEqual({ noUpdates: false });
    const restored = (await infra.describeStack(stackName))!;
    expect(restored).toMatchObject({ status: 'UPDATE_COMPLETE', parameters: found.parameters });
    expect(restored.outputs).toEqual({ Version: 'o5-v1', Count: '2', PasswordInUse: 'hunter2' });
    expect(await infra.stackTemplate(stackName)).toBe(samTemplate);
  });
});
