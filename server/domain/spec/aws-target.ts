/**
 * Where a deployment acts on AWS: the cluster's account and region, and the deployer role assumed
 * there. Fixed in the spec when the deployment is created, so every job of the deployment acts in
 * the same place even if the cluster is reconfigured meanwhile.
 */
import type { ClusterConfig } from '../config/cluster.ts';

export interface AwsTarget {
  /** The cluster's name, for messages. */
  cluster: string;
  /** The account the deployment must act in (checked before anything is touched). */
  account: string;
  region: string;
  /** The role assumed for every call; absent: the deployer's own (base) credentials. */
  roleArn?: string;
}

export function awsTargetOf(cluster: ClusterConfig): AwsTarget {
  const { awsAccount, awsRegion, o5Deployer } = cluster.aws;
  return { cluster: cluster.name, account: awsAccount, region: awsRegion, ...(o5Deployer.assumeRoleArn ? { roleArn: o5Deployer.assumeRoleArn } : {}) };
}

/** Who a deployment acted as on AWS: what STS GetCallerIdentity answered (or the simulator made up). */
export interface AwsIdentity {
  account: string;
  /** The caller's ARN, e.g. `arn:aws:sts::111111111111:assumed-role/o5-deployer/o5-deploy-<id>`. */
  arn: string;
  region: string;
  /** The role assumed; null: the deployer's own credentials. */
  roleArn: string | null;
  /** The STS session name (names the deployment); null without a role. */
  sessionName: string | null;
}

/** Fields that say where a deployment acts, for its log lines. */
export function awsLogFields(target: AwsTarget): { cluster: string; awsAccount: string; awsRegion: string; roleArn: string | null } {
  return { cluster: target.cluster, awsAccount: target.account, awsRegion: target.region, roleArn: target.roleArn ?? null };
}

/** The placeholders the template bucket setting may contain. */
export const TEMPLATE_BUCKET_PLACEHOLDERS = ['{region}', '{account}'] as const;

/**
 * The template bucket of a target: the setting with `{region}` and `{account}` replaced, so that
 * each account and region can keep its templates in a bucket of its own (CloudFormation reads a
 * template from a bucket in the stack's region).
 */
export function templateBucketFor(setting: string, target: Pick<AwsTarget, 'account' | 'region'>): string {
  return setting.replaceAll('{region}', target.region).replaceAll('{account}', target.account);
}

/** A placeholder the setting names that is not one of ours (a typo such as `{acount}`), or null. */
export function unknownTemplateBucketPlaceholder(setting: string): string | null {
  for (const match of setting.matchAll(/\{[^}]*\}/g)) {
    if (!(TEMPLATE_BUCKET_PLACEHOLDERS as readonly string[]).includes(match[0])) return match[0];
  }
  return null;
}
