/**
 * o5's names drop case and punctuation (`privateKey` and `privatekey` are both
 * `SecretsManagerSecretAppSecretPrivatekey`), so two entries of an o5.yaml can ask for one resource
 * or parameter. That is the config's mistake: a 400 naming the path of the entry that clashes and
 * of the one it clashes with, not a 422 that names only a logical id the user never wrote.
 */
import { describe, expect, it } from 'vitest';
import { parseApplication } from '../application/index.ts';
import { DomainError, ValidationError } from '../errors.ts';
import { basicApp, buildChecked, IAM_HOST, resourcesOfType, SECRETS_MANAGER_HOST } from '../../../test/support/template-helpers.ts';
import { buildTemplate, type RdsHostAuth } from './index.ts';

const main = (envVars: unknown[] = []) => ({ name: 'main', containers: [{ name: 'main', image: { name: 'x' }, envVars }] });

function buildError(app: Record<string, unknown>, rdsHosts: readonly RdsHostAuth[] = []): DomainError {
  const application = parseApplication({ name: 'app', runtimes: [main()], ...app });
  try {
    buildTemplate({ application, version: 'v1', rdsHosts });
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error('the template built');
}

function expectClash(err: DomainError, path: string, first: string, name: string): void {
  expect(err).toBeInstanceOf(ValidationError);
  expect(err.issues).toEqual([{ path, message: expect.stringContaining(first) }]);
  expect(err.issues[0]!.message).toContain(name);
}

describe('entries whose o5 names clash are refused at their path', () => {
  it('secrets that differ only in case', () => {
    const err = buildError({ secrets: [{ name: 'privateKey' }, { name: 'privatekey' }] });
    expectClash(err, 'secrets[1].name', 'secrets[0].name', 'SecretsManagerSecretAppSecretPrivatekey');
  });

  it('databases that differ only in punctuation, on either kind of server', () => {
    const databases = [
      { name: 'main-db', postgres: { serverGroup: 'group' } },
      { name: 'main_db', postgres: { serverGroup: 'group' } },
    ];
    for (const host of [SECRETS_MANAGER_HOST, IAM_HOST]) {
      expectClash(buildError({ databases }, [host]), 'databases[1].name', 'databases[0].name', 'MainDb');
    }
  });

  it('blobstores whose names CamelCase alike', () => {
    const err = buildError({ blobstores: [{ name: 'a1b' }, { name: 'a1-b' }] });
    expectClash(err, 'blobstores[1].name', 'blobstores[0].name', 'S3BucketA1B');
  });

  it('fromEnv variables that clean to one parameter', () => {
    const envVars = [
      { name: 'A', fromEnv: { name: 'sns-prefix' } },
      { name: 'B', fromEnv: { name: 'sns_prefix' } },
    ];
    const err = buildError({ runtimes: [main(envVars)] });
    expectClash(err, 'runtimes[0].containers[0].envVars[1].fromEnv.name', 'runtimes[0].containers[0].envVars[0].fromEnv.name', 'EnvVarSnsPrefix');
  });

  it('linked environments that clean to one parameter', () => {
    const runtime = { ...main(), subscriptions: [{ name: 'a', envName: 'web-hook' }, { name: 'b', envName: 'web_hook' }] };
    const err = buildError({ runtimes: [runtime] });
    expectClash(err, 'runtimes[0].subscriptions[1].envName', 'runtimes[0].subscriptions[0].envName', 'WebHookFullname');
  });

  it('o5-infra topics that clean to one SNS subscription', () => {
    const runtime = { ...main(), subscriptions: [{ name: 'o5-infra/foo-bar' }, { name: 'o5-infra/foo_bar' }] };
    const err = buildError({ runtimes: [runtime] });
    expectClash(err, 'runtimes[0].subscriptions[1].name', 'runtimes[0].subscriptions[0].name', 'SNSSubscriptionAppMainFooBar');
  });
});

describe('the same o5-infra topic twice', () => {
  it('is one SNS subscription, as in o5 (it was refused, with no path)', async () => {
    const app = basicApp({ subscriptions: [{ name: 'o5-infra/o5-infra' }, { name: 'o5-infra/o5-infra', port: 9090 }] });
    const { template } = await buildChecked(app);
    expect(resourcesOfType(template, 'AWS::SNS::Subscription').map(([id]) => id)).toEqual(['SNSSubscriptionApp1MainO5Infra']);
    const statements = template.Resources['SQSQueuePolicyApp1Main']!.Properties!.PolicyDocument as { Statement: { Condition?: { ArnEquals: Record<string, unknown[]> } }[] };
    expect(statements.Statement[1]!.Condition!.ArnEquals['aws:SourceArn']).toHaveLength(1);
  });
});
