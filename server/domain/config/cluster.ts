/**
 * The cluster config: the AWS account, VPC, load balancer, ECS cluster, event bus
 * and database hosts that every environment of the cluster shares. A cluster document
 * (`clusterDocumentSchema`) may embed its environments, which are upserted with it.
 *
 * Fix of a ⚠: the Go code dereferences albIngress, eventBridge, o5Deployer and ecsCluster without
 * checking them, so here they are required rather than optional.
 */
import { z } from 'zod';
import { environmentConfigSchema, reportDuplicates } from './environment.ts';
import { imageTagSchema } from './overrides.ts';

export { applyClusterOverrides, mergeOverrides, SUPPORTED_OVERRIDE_KEYS, clusterOverrideSchema, clusterOverrideRequestSchema } from './overrides.ts';
export type { ClusterOverride } from './overrides.ts';

const nonEmpty = z.string().min(1, 'Must not be empty');

/** How the deployer reaches a database host as admin: a root secret, or RDS IAM tokens. */
const rdsAuthSchema = z
  .strictObject({
    secretsManager: z.strictObject({ secretName: nonEmpty }).optional(),
    iam: z.strictObject({ dbUser: nonEmpty, dbName: nonEmpty.optional() }).optional(),
  })
  .superRefine((auth, ctx) => {
    const given = [auth.secretsManager, auth.iam].filter((a) => a !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', message: 'Exactly one of secretsManager, iam is required', path: [] });
  });

const rdsHostSchema = z
  .strictObject({
    /** What application databases name in `serverGroup`. */
    serverGroupName: nonEmpty,
    /** Security group that clients of this host join. */
    clientSecurityGroupId: nonEmpty,
    identifier: nonEmpty.optional(),
    endpoint: nonEmpty.optional(),
    port: z.number().int().min(1).max(65535).optional(),
    auth: rdsAuthSchema,
  })
  .superRefine((host, ctx) => {
    // IAM auth tokens are minted for a host and a cluster identifier: both must be known.
    if (host.auth.iam) {
      if (!host.endpoint) ctx.addIssue({ code: 'custom', message: 'Required with iam auth', path: ['endpoint'] });
      if (!host.identifier) ctx.addIssue({ code: 'custom', message: 'Required with iam auth', path: ['identifier'] });
    }
  });

const awsClusterSchema = z
  .strictObject({
    vpcId: nonEmpty,
    // Every deployment's STS check, ARNs and SNS prefix name these: an account AWS cannot have, or
    // a region it has not (a typo: us-east1), would fail each deployment in its wait phase instead.
    // A region's prefix is 2 letters, or more in a partition of its own (eusc-de-east-1).
    awsAccount: z.string().regex(/^\d{12}$/, 'Must be an AWS account id: 12 digits (quoted in YAML)'),
    awsRegion: z.string().regex(/^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/, 'Must be an AWS region code, such as us-east-1 or eu-central-2'),
    /** Suffix of every bucket name, so names are unique across AWS. */
    globalNamespace: nonEmpty,
    o5Deployer: z.strictObject({
      assumeRoleArn: nonEmpty,
      /**
       * The SQS queue that EventBridge fills with the account's CloudFormation stack and ECS task
       * events (README, "AWS events"): they wake deployments at once. Absent: polls only.
       */
      eventQueueUrl: z.string().regex(/^https?:\/\/\S+\/\d{12}\/[\w-]+(\.fifo)?$/, 'Must be an SQS queue URL, https://sqs.<region>.amazonaws.com/<account>/<name>').optional(),
    }),
    albIngress: z.strictObject({ listenerArn: nonEmpty, securityGroupId: nonEmpty }),
    o5Sidecar: z.strictObject({ imageVersion: imageTagSchema, imageRepo: nonEmpty.optional() }),
    eventBridge: z.strictObject({ eventBusArn: nonEmpty }),
    ecsCluster: z.strictObject({
      clusterName: nonEmpty,
      taskExecutionRole: nonEmpty,
      /** Registry of images that name none. */
      defaultRegistry: nonEmpty,
      subnetIds: z.array(nonEmpty).default([]),
      baseSecurityGroupId: nonEmpty.optional(),
    }),
    rdsHosts: z.array(rdsHostSchema).default([]),
  })
  .superRefine((aws, ctx) => {
    reportDuplicates(aws.rdsHosts.map((h) => h.serverGroupName), ['rdsHosts'], 'server group', ctx, 'serverGroupName');
    // The queue is read in the cluster's region (its requests are signed for it): one in another
    // region is refused by SQS, and would hold that region's events. Another account's queue may be
    // a central one that events are forwarded to (each event says its account; a wake matches it).
    const queue = aws.o5Deployer?.eventQueueUrl ? queueUrlPlace(aws.o5Deployer.eventQueueUrl) : undefined;
    if (queue?.region && queue.region !== aws.awsRegion) {
      const message = `The queue is in region ${queue.region}, the cluster in ${aws.awsRegion} (awsRegion): the queue must be in the cluster's region`;
      ctx.addIssue({ code: 'custom', path: ['o5Deployer', 'eventQueueUrl'], message });
    }
  });

/**
 * The account of an SQS queue URL (`.../<account>/<name>`) and, on AWS's own host names
 * (`sqs.<region>.amazonaws.com[.cn]`, `<region>.queue.amazonaws.com`, `sqs.<region>.api.aws`), its
 * region; an emulator's host names none.
 */
function queueUrlPlace(url: string): { account: string; region?: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const account = /^\/(\d{12})\//.exec(parsed.pathname)?.[1];
  if (!account) return undefined;
  const region = /^(?:sqs\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|api\.aws)|([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?)$/.exec(parsed.hostname);
  const name = region?.[1] ?? region?.[2];
  return { account, ...(name ? { region: name } : {}) };
}

const clusterShape = {
  name: z.string().max(63, 'At most 63 characters').regex(/^[a-z][a-z0-9-]*$/, 'Must match ^[a-z][a-z0-9-]*$ (lowercase letters, digits, hyphens)'),
  aws: awsClusterSchema,
};

export const clusterConfigSchema = z.strictObject(clusterShape);

/** A cluster with the environments it holds, as uploaded in one document. */
export const clusterDocumentSchema = z
  .strictObject({ ...clusterShape, environments: z.array(environmentConfigSchema).default([]) })
  .superRefine((doc, ctx) => {
    reportDuplicates(doc.environments.map((e) => e.fullName), ['environments'], 'environment', ctx, 'fullName');
    doc.environments.forEach((env, index) => {
      if (env.clusterName !== undefined && env.clusterName !== doc.name) {
        ctx.addIssue({
          code: 'custom',
          message: `Must be the cluster's name "${doc.name}" (or absent)`,
          path: ['environments', index, 'clusterName'],
        });
      }
    });
  });

export type ClusterConfig = z.output<typeof clusterConfigSchema>;
export type ClusterDocument = z.output<typeof clusterDocumentSchema>;
export type RdsHost = ClusterConfig['aws']['rdsHosts'][number];

/** The cluster part of a cluster document (without its environments). */
export function clusterOfDocument(doc: ClusterDocument): ClusterConfig {
  const { environments: _environments, ...cluster } = doc;
  return cluster;
}

export const DEFAULT_SIDECAR_IMAGE_REPO = 'ghcr.io/pentops/o5-runtime-sidecar';

/** The sidecar image reference `<repo>:<version>` (the `O5SidecarImage` parameter). */
export function sidecarImage(cluster: ClusterConfig): string {
  const { imageRepo, imageVersion } = cluster.aws.o5Sidecar;
  return `${imageRepo ?? DEFAULT_SIDECAR_IMAGE_REPO}:${imageVersion}`;
}
