/** Shapes of clusters in the API, shared by the cluster routes. */
import { z } from '@hono/zod-openapi';
import { clusterConfigSchema, clusterDocumentSchema, clusterOverrideSchema } from '../../domain/config/cluster.ts';
import type { AwsIdentity } from '../../domain/spec/index.ts';
import type { EntityRow } from '../../engine/entities.ts';

export const exampleClusterDocument = {
  name: 'prod',
  aws: {
    awsAccount: '111122223333',
    awsRegion: 'us-east-1',
    vpcId: 'vpc-0a1b2c',
    globalNamespace: 'acme',
    o5Deployer: { assumeRoleArn: 'arn:aws:iam::111122223333:role/o5-deployer' },
    albIngress: {
      listenerArn: 'arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/prod/abc/def',
      securityGroupId: 'sg-alb',
    },
    o5Sidecar: { imageVersion: 'v1.20.0' },
    eventBridge: { eventBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/prod' },
    ecsCluster: {
      clusterName: 'prod',
      taskExecutionRole: 'arn:aws:iam::111122223333:role/ecs-task-exec',
      defaultRegistry: '111122223333.dkr.ecr.us-east-1.amazonaws.com',
      subnetIds: ['subnet-1', 'subnet-2'],
    },
    rdsHosts: [
      {
        serverGroupName: 'default',
        clientSecurityGroupId: 'sg-db-clients',
        auth: { secretsManager: { secretName: '/prod/global/rds/default/root' } },
      },
    ],
  },
  environments: [
    {
      fullName: 'prod',
      trustJwks: ['https://auth.example.com/.well-known/jwks.json'],
      corsOrigins: ['https://*.example.com'],
      vars: [{ name: 'public-url', value: 'https://shop.example.com' }],
      aws: { hostHeader: 'prod.example.com' },
    },
  ],
};

export const clusterDocumentBody = clusterDocumentSchema.openapi('ClusterDocument', {
  description: 'A cluster with the environments it holds (o5 CombinedConfig). Send it as JSON or YAML.',
  example: exampleClusterDocument,
});

const awsIdentitySchema = z
  .object({
    account: z.string(),
    arn: z.string().openapi({ example: 'arn:aws:sts::111122223333:assumed-role/o5-deployer/o5-deploy-7d0c3b1e-2f4a-4c1e-9d7b-3c5e8a9b0f12' }),
    region: z.string(),
    roleArn: z.string().nullable(),
    sessionName: z.string().nullable(),
  })
  .openapi('AwsIdentity', { description: 'Who a deployment acted as on AWS (STS GetCallerIdentity), after it was checked against the cluster\'s account.' });

const deployerAccessSchema = z
  .object({
    account: z.string().openapi({ description: 'The account every deployment on this cluster must act in (checked before anything is touched).' }),
    region: z.string().openapi({ description: 'The region every AWS call of those deployments goes to.' }),
    roleArn: z.string().nullable().openapi({ description: 'The deployer role assumed for those calls (null: the deployer\'s own credentials).' }),
    eventQueueUrl: z.string().nullable().openapi({ description: 'The SQS queue whose CloudFormation and ECS events wake these deployments at once (null: they poll).' }),
    lastVerified: z
      .object({ deploymentId: z.string(), startedAt: z.string().nullable(), identity: awsIdentitySchema })
      .nullable()
      .optional()
      .openapi({ description: 'The latest deployment on this cluster whose identity was checked, and who it acted as (GET of one cluster only).' }),
  })
  .openapi('ClusterDeployerAccess');

export const clusterSchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    status: z.string().openapi({ example: 'ACTIVE' }),
    version: z.number().int().openapi({ description: 'Number of events applied.' }),
    baseConfig: clusterConfigSchema.nullable().openapi({ description: 'The config as uploaded.' }),
    overrides: z.array(clusterOverrideSchema.extend({ value: z.string() })).openapi({ description: 'Overrides in force.' }),
    config: clusterConfigSchema.nullable().openapi({ description: 'The effective config: base with overrides applied.' }),
    environments: z.array(z.string()).openapi({ description: 'Names of the environments in this cluster.' }),
    deployerAccess: deployerAccessSchema.nullable().openapi({ description: 'Where deployments on this cluster act on AWS: account, region and role (from the effective config).' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Cluster');

export type ClusterResponse = z.infer<typeof clusterSchema>;

export const clusterParams = z.object({
  cluster: z.string().min(1).openapi({ param: { name: 'cluster', in: 'path' }, example: 'prod', description: 'Cluster name (or id).' }),
});

export interface LastVerifiedAccess {
  deploymentId: string;
  startedAt: string | null;
  identity: AwsIdentity;
}

export function toClusterResponse(row: EntityRow<'cluster'>, environments: string[], lastVerified?: LastVerifiedAccess | null): ClusterResponse {
  const aws = row.data.config?.aws;
  return {
    id: row.id,
    name: row.data.name,
    status: row.status,
    version: row.version,
    baseConfig: row.data.baseConfig,
    overrides: row.data.overrides.map((o) => ({ key: o.key as 'sidecarImageVersion', value: o.value! })),
    config: row.data.config,
    environments,
    deployerAccess: aws
      ? {
          account: aws.awsAccount,
          region: aws.awsRegion,
          roleArn: aws.o5Deployer.assumeRoleArn || null,
          eventQueueUrl: aws.o5Deployer.eventQueueUrl ?? null,
          ...(lastVerified !== undefined ? { lastVerified } : {}),
        }
      : null,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
