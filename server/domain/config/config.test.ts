import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument, validateDocument } from '../documents.ts';
import { ValidationError, type FieldIssue } from '../errors.ts';
import {
  applyClusterOverrides,
  clusterConfigSchema,
  clusterDocumentSchema,
  clusterOfDocument,
  mergeOverrides,
  sidecarImage,
  SUPPORTED_OVERRIDE_KEYS,
  type ClusterConfig,
} from './cluster.ts';
import { customVariableValue, environmentConfigSchema } from './environment.ts';

const clusterYaml = readFileSync(new URL('../../../test/fixtures/clusters/test-cluster.yaml', import.meta.url), 'utf8');
const clusterDoc = validateDocument(clusterDocumentSchema, parseDocument(clusterYaml, 'yaml'), 'cluster');
const cluster = clusterOfDocument(clusterDoc);

function issuesOf(fn: () => unknown): FieldIssue[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

describe('cluster document', () => {
  it('parses the test cluster with its environments and defaults', () => {
    expect(clusterDoc.name).toBe('test-cluster');
    expect(clusterDoc.aws.rdsHosts.map((h) => h.serverGroupName)).toEqual(['default', 'aurora']);
    expect(clusterDoc.aws.rdsHosts[1]!.auth).toEqual({ iam: { dbUser: 'o5_admin' } });
    expect(clusterDoc.environments[0]!.fullName).toBe('test-env');
    expect(clusterDoc.environments[0]!.aws?.iamPolicies[0]!.name).toBe('assume-o5-deployer');
    expect(sidecarImage(cluster)).toBe('ghcr.io/pentops/o5-runtime-sidecar:v1.20.0');
  });

  it('defaults lists to empty', () => {
    const minimal = structuredClone(cluster) as Record<string, any>;
    delete minimal.aws.rdsHosts;
    delete minimal.aws.ecsCluster.subnetIds;
    const parsed = validateDocument(clusterDocumentSchema, minimal, 'cluster');
    expect(parsed.aws.rdsHosts).toEqual([]);
    expect(parsed.aws.ecsCluster.subnetIds).toEqual([]);
    expect(parsed.environments).toEqual([]);
  });

  it('requires albIngress, eventBridge, o5Deployer and ecsCluster (the Go code dereferenced them unchecked)', () => {
    const broken = structuredClone(cluster) as Record<string, any>;
    for (const key of ['albIngress', 'eventBridge', 'o5Deployer', 'ecsCluster']) delete broken.aws[key];
    expect(issuesOf(() => validateDocument(clusterConfigSchema, broken, 'cluster'))).toEqual([
      { path: 'aws.o5Deployer', message: 'Required' },
      { path: 'aws.albIngress', message: 'Required' },
      { path: 'aws.eventBridge', message: 'Required' },
      { path: 'aws.ecsCluster', message: 'Required' },
    ]);
  });

  it('takes the SQS queue of AWS events in o5Deployer.eventQueueUrl, and refuses what is not a queue URL', () => {
    const withQueue = structuredClone(cluster) as Record<string, any>;
    withQueue.aws.o5Deployer.eventQueueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/o5-deployer-events';
    expect(validateDocument(clusterConfigSchema, withQueue, 'cluster').aws.o5Deployer.eventQueueUrl).toBe(withQueue.aws.o5Deployer.eventQueueUrl);
    withQueue.aws.o5Deployer.eventQueueUrl = 'arn:aws:sqs:eu-west-1:111122223333:o5-deployer-events';
    expect(issuesOf(() => validateDocument(clusterConfigSchema, withQueue, 'cluster'))).toEqual([
      { path: 'aws.o5Deployer.eventQueueUrl', message: 'Must be an SQS queue URL, https://sqs.<region>.amazonaws.com/<account>/<name>' },
    ]);
  });

  it("refuses an event queue of another region than the cluster's (its events would never be the cluster's); another account's may be a central one", () => {
    // The cluster is 123456789012 in us-east-1. A queue of eu-west-1 (a cluster document copied from
    // another region) holds eu-west-1's events, and is not even readable with a client of us-east-1.
    const withQueue = structuredClone(cluster) as Record<string, any>;
    withQueue.aws.o5Deployer.eventQueueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/o5-deployer-events';
    expect(issuesOf(() => validateDocument(clusterConfigSchema, withQueue, 'cluster'))).toEqual([
      { path: 'aws.o5Deployer.eventQueueUrl', message: "The queue is in region eu-west-1, the cluster in us-east-1 (awsRegion): the queue must be in the cluster's region" },
    ]);
    withQueue.aws.o5Deployer.eventQueueUrl = 'https://eu-west-1.queue.amazonaws.com/123456789012/o5-deployer-events';
    expect(issuesOf(() => validateDocument(clusterConfigSchema, withQueue, 'cluster'))).toHaveLength(1);
    // A central queue in another account, events forwarded to it: each event names its own account.
    withQueue.aws.o5Deployer.eventQueueUrl = 'https://sqs.us-east-1.amazonaws.com/111122223333/o5-deployer-events';
    expect(validateDocument(clusterConfigSchema, withQueue, 'cluster').aws.o5Deployer.eventQueueUrl).toBe(withQueue.aws.o5Deployer.eventQueueUrl);
    // An emulator's URL names no region.
    withQueue.aws.o5Deployer.eventQueueUrl = 'http://localhost:4566/123456789012/o5-deployer-events';
    expect(validateDocument(clusterConfigSchema, withQueue, 'cluster').aws.o5Deployer.eventQueueUrl).toBe(withQueue.aws.o5Deployer.eventQueueUrl);
  });

  it("takes every form of AWS region code, the partitions' too (GovCloud, China, ISO, the European Sovereign Cloud), and refuses typos", () => {
    const regions = ['us-east-1', 'eu-central-2', 'ap-southeast-5', 'us-gov-west-1', 'cn-northwest-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'eusc-de-east-1'];
    for (const awsRegion of regions) {
      const other = structuredClone(cluster) as Record<string, any>;
      other.aws.awsRegion = awsRegion;
      expect(validateDocument(clusterConfigSchema, other, 'cluster').aws.awsRegion, awsRegion).toBe(awsRegion);
    }
    for (const awsRegion of ['us-east1', 'US-EAST-1', 'useast-1', 'us-east-', 'us-east-1 ', 'u-east-1']) {
      const other = structuredClone(cluster) as Record<string, any>;
      other.aws.awsRegion = awsRegion;
      expect(issuesOf(() => validateDocument(clusterConfigSchema, other, 'cluster')).map((i) => i.path), awsRegion).toEqual(['aws.awsRegion']);
    }
  });

  it('points at bad RDS hosts: auth must be exactly one kind, IAM needs endpoint and identifier', () => {
    const broken = structuredClone(cluster) as Record<string, any>;
    broken.aws.rdsHosts = [
      { serverGroupName: 'a', clientSecurityGroupId: 'sg-1', auth: {} },
      { serverGroupName: 'b', clientSecurityGroupId: 'sg-1', auth: { iam: { dbUser: 'x' } } },
      { serverGroupName: 'c', clientSecurityGroupId: 'sg-1', port: 0, auth: { secretsManager: { secretName: 's' }, iam: { dbUser: 'x' } } },
    ];
    expect(issuesOf(() => validateDocument(clusterConfigSchema, broken, 'cluster'))).toEqual([
      { path: 'aws.rdsHosts[0].auth', message: 'Exactly one of secretsManager, iam is required' },
      { path: 'aws.rdsHosts[1].endpoint', message: 'Required with iam auth' },
      { path: 'aws.rdsHosts[1].identifier', message: 'Required with iam auth' },
      { path: 'aws.rdsHosts[2].port', message: expect.stringContaining('>=1') },
      { path: 'aws.rdsHosts[2].auth', message: 'Exactly one of secretsManager, iam is required' },
      { path: 'aws.rdsHosts[2].endpoint', message: 'Required with iam auth' },
      { path: 'aws.rdsHosts[2].identifier', message: 'Required with iam auth' },
    ]);
  });

  it('reports unknown keys and duplicate server groups and environments with their paths', () => {
    const broken = structuredClone(clusterDoc) as Record<string, any>;
    broken.aws.ecsCluster.subnets = ['x'];
    broken.aws.rdsHosts.push({ ...broken.aws.rdsHosts[0] });
    broken.environments.push({ fullName: 'test-env', clusterName: 'other' });
    expect(issuesOf(() => validateDocument(clusterDocumentSchema, broken, 'cluster'))).toEqual([
      { path: 'aws.ecsCluster.subnets', message: 'Unknown field "subnets"; did you mean "subnetIds"?' },
      { path: 'aws.rdsHosts[2].serverGroupName', message: 'Duplicate server group "default"' },
      { path: 'environments[1].fullName', message: 'Duplicate environment "test-env"' },
      { path: 'environments[1].clusterName', message: `Must be the cluster's name "test-cluster" (or absent)` },
    ]);
  });

  it('keeps names within what AWS takes: cluster and environment names of at most 63 characters (the stack name is <environment>-<app>, at most 128)', () => {
    const long = structuredClone(clusterDoc) as Record<string, any>;
    long.name = 'c'.repeat(64);
    long.environments[0].fullName = 'e'.repeat(3000);
    expect(issuesOf(() => validateDocument(clusterDocumentSchema, long, 'cluster'))).toEqual([
      { path: 'name', message: 'At most 63 characters' },
      { path: 'environments[0].fullName', message: 'At most 63 characters' },
    ]);
    const fits = structuredClone(clusterDoc) as Record<string, any>;
    fits.environments[0].fullName = 'e'.repeat(63);
    expect(() => validateDocument(clusterDocumentSchema, fits, 'cluster')).not.toThrow();
  });
});

describe('environment config', () => {
  it('parses a minimal environment with defaults', () => {
    expect(validateDocument(environmentConfigSchema, { fullName: 'dev-1' }, 'environment')).toEqual({
      fullName: 'dev-1',
      trustJwks: [],
      vars: [],
      corsOrigins: [],
    });
  });

  it('joins list variables', () => {
    const env = clusterDoc.environments[0]!;
    expect(env.vars.map(customVariableValue)).toEqual(['arn:aws:iam::123456789012:role/o5-deployer-target', 'a.example.com,b.example.com']);
  });

  it('reports every problem with its path', () => {
    const issues = issuesOf(() =>
      validateDocument(
        environmentConfigSchema,
        {
          fullName: 'Prod',
          vars: [{ name: 'a', value: 'x', join: { delimiter: ',', values: [] } }, { name: 'a' }, { name: 'b', value: 1 }],
          aws: { environmentLinks: [{ lookupName: 'x', fullName: 'y' }], iamPolicies: [{ name: 'p', arn: 'q' }] },
        },
        'environment',
      ),
    );
    expect(issues).toEqual([
      { path: 'fullName', message: expect.stringContaining('^[a-z][a-z0-9-]+$') },
      { path: 'vars[0]', message: 'Exactly one of value, join is required' },
      { path: 'vars[1]', message: 'Exactly one of value, join is required' },
      { path: 'vars[2].value', message: expect.stringContaining('expected string') },
      { path: 'aws.environmentLinks[0].snsPrefix', message: 'Required' },
      { path: 'aws.iamPolicies[0].policyArn', message: 'Required' },
      { path: 'aws.iamPolicies[0].arn', message: 'Unknown field "arn"; the fields here are: name, policyArn' },
    ]);
  });

  it('reports duplicate variable names', () => {
    const issues = issuesOf(() =>
      validateDocument(environmentConfigSchema, { fullName: 'dev', vars: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }, 'environment'),
    );
    expect(issues).toEqual([{ path: 'vars[1].name', message: 'Duplicate variable "a"' }]);
  });
});

describe('cluster overrides', () => {
  const base: ClusterConfig = cluster;

  it('supports only sidecarImageVersion', () => {
    expect(SUPPORTED_OVERRIDE_KEYS).toEqual(['sidecarImageVersion']);
  });

  it('sets the sidecar image version without touching the base', () => {
    const config = applyClusterOverrides(base, [{ key: 'sidecarImageVersion', value: 'version2' }]);
    expect(config.aws.o5Sidecar.imageVersion).toBe('version2');
    expect(base.aws.o5Sidecar.imageVersion).toBe('v1.20.0');
    expect(applyClusterOverrides(base, []).aws.o5Sidecar.imageVersion).toBe('v1.20.0');
  });

  it('replaces a key, removes it when the value is absent, and keeps untouched keys', () => {
    const first = mergeOverrides([], [{ key: 'sidecarImageVersion', value: 'version2' }]);
    expect(first).toEqual([{ key: 'sidecarImageVersion', value: 'version2' }]);
    expect(mergeOverrides(first, [{ key: 'sidecarImageVersion', value: 'version3' }])).toEqual([
      { key: 'sidecarImageVersion', value: 'version3' },
    ]);
    // a batch that does not mention the stored key keeps it (the Go code crashed here)
    expect(mergeOverrides(first, [])).toEqual(first);
    const removed = mergeOverrides(first, [{ key: 'sidecarImageVersion' }]);
    expect(removed).toEqual([]);
    expect(mergeOverrides(first, [{ key: 'sidecarImageVersion', value: null }])).toEqual([]);
    expect(applyClusterOverrides(base, removed).aws.o5Sidecar.imageVersion).toBe('v1.20.0');
  });

  it('ignores removal of a key that was never set (the Go code crashed here)', () => {
    expect(mergeOverrides([], [{ key: 'sidecarImageVersion' }])).toEqual([]);
  });

  it('rejects unknown keys, naming them and their position', () => {
    expect(issuesOf(() => mergeOverrides([], [{ key: 'sidecarImageVersion', value: 'v' }, { key: 'asdf', value: 'x' }]))).toEqual([
      { path: '[1].key', message: 'Unsupported override key "asdf"; supported keys: sidecarImageVersion' },
    ]);
    expect(() => applyClusterOverrides(base, [{ key: 'asdf', value: 'x' }])).toThrow(ValidationError);
  });

  it('rejects a sidecar image version that is no image tag, at its position; one stored before still applies, and can be removed', () => {
    expect(issuesOf(() => mergeOverrides([], [{ key: 'sidecarImageVersion' }, { key: 'sidecarImageVersion', value: '' }]))).toEqual([
      { path: '[1].value', message: expect.stringContaining('image tag') },
    ]);
    expect(issuesOf(() => mergeOverrides([], [{ key: 'sidecarImageVersion', value: 'v1 2' }]))[0]!.path).toBe('[0].value');
    // A re-upload of the cluster applies what is stored: it must not fail on an override taken before this check.
    const stored = [{ key: 'sidecarImageVersion', value: '' }];
    expect(applyClusterOverrides(base, stored).aws.o5Sidecar.imageVersion).toBe('');
    expect(mergeOverrides(stored, [{ key: 'sidecarImageVersion' }])).toEqual([]);
  });
});
