import { describe, expect, it } from 'vitest';
import { parseApplication } from '../application/index.ts';
import { ValidationError, type FieldIssue } from '../errors.ts';
import { testCluster, testEnvironment } from '../../../test/support/test-cluster.ts';
import { buildDeploymentSpec } from './index.ts';

const DEPLOYMENT_ID = '3b241101-e2bb-4255-8caf-4136c566a962';

function build(app: Record<string, unknown>, environmentName = 'test-env') {
  return buildDeploymentSpec({
    deploymentId: DEPLOYMENT_ID,
    application: parseApplication(app),
    version: 'v1',
    environment: { ...testEnvironment(), fullName: environmentName },
    cluster: testCluster(),
  });
}

function issuesOf(fn: () => unknown): FieldIssue[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

const runtime = (name: string, extra: Record<string, unknown> = {}) => ({ name, containers: [{ name: 'main', image: { name: 'x' } }], ...extra });

describe('names AWS limits, checked when the deployment is requested', () => {
  it('an IAM role name past 64 characters is an issue at the runtime that makes it', () => {
    const issues = issuesOf(() => build({ name: 'customernotificationservice', runtimes: [runtime('ok'), runtime('webhookdispatcherworker')] }, 'production-eu-west'));
    expect(issues).toEqual([
      {
        path: 'runtimes[1].name',
        message: expect.stringMatching(/^Makes the IAM role name production-eu-west-customernotificationservice-webhookdispatcherworker\S* \(\d+ characters, for \S+\), longer than AWS allows \(64\)/),
      },
    ]);
  });

  it('an S3 bucket name past 63 characters is an issue at the blobstore', () => {
    const issues = issuesOf(() =>
      build({ name: 'app', blobstores: [{ name: 'customer-uploads-original-and-processed-images' }], runtimes: [runtime('main')] }),
    );
    expect(issues.map((i) => i.path)).toEqual(['blobstores[0].name']);
    expect(issues[0]!.message).toMatch(/S3 bucket name customer-uploads-original-and-processed-images\.app\.test-env\./);
  });

  it('names within the limits build', () => {
    expect(() => build({ name: 'shop', runtimes: [runtime('api')] })).not.toThrow();
  });
});
