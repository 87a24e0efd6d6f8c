/**
 * The AWS infra of many clusters: each deployment on a cluster gets a port whose clients call the
 * cluster's region with the credentials of the cluster's deployer role (server/infra/cluster-provider.ts
 * caches the ports and checks their account).
 *
 * Credentials: the role is assumed with the SDK's own `fromTemporaryCredentials`, from the base
 * credentials (the configured ones, else the SDK's default chain), in the cluster's region, with a
 * session named after the deployment. That provider calls AssumeRole each time it is asked, so it
 * is wrapped once per port in the SDK's `memoizeIdentityProvider`: every client of the port shares
 * one session, which is assumed again only when it is within 5 minutes of expiring (the SDK's
 * `isIdentityExpired` window), or after a failure. Each client memoizes the same way on top of that.
 * A cluster without a role uses the base credentials in its own region.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { doesIdentityRequireRefresh, isIdentityExpired, memoizeIdentityProvider } from '@smithy/core';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { templateBucketFor } from '../../domain/spec/aws-target.ts';
import type { Logger } from '../../logger.ts';
import { createInfraProvider, type CachingInfraProvider, type ClusterSession } from '../cluster-provider.ts';
import { InfraError, type EventQueue, type EventQueueSetting } from '../port.ts';
import { createSqsEventQueue } from './event-queue.ts';
import { outcomeOf, type AwsCallListener } from './aws-call-metrics.ts';
import { createAwsContext, type AwsInfraOptions } from './context.ts';
import { toInfraError } from './errors.ts';
import { portOf } from './aws-port.ts';
import { templateUrl } from './templates-s3.ts';

export interface AwsInfraProviderOptions extends Omit<AwsInfraOptions, 'region' | 'credentials' | 'accountId' | 'templateBucket'> {
  /** The base credentials; without them, the SDK's default chain (environment, profile, container, instance). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The template bucket setting; `{region}` and `{account}` are replaced with the cluster's. */
  templateBucket: string;
  /** How long an assumed session lasts (STS DurationSeconds). Default 3600. */
  sessionSeconds?: number;
  logger?: Logger;
  idleMs?: number;
  /** Long poll of the event queues (SQS WaitTimeSeconds); default 20. */
  eventWaitSeconds?: number;
}

/** The STS session name of the consumer of a cluster's event queue (CloudTrail shows it reading the queue). */
export const EVENTS_SESSION_NAME = 'o5-deployer-events';

export function createAwsInfraProvider(options: AwsInfraProviderOptions): CachingInfraProvider & { eventQueue(setting: EventQueueSetting | null): EventQueue } {
  const base = memoizeIdentityProvider(
    typeof options.credentials === 'function'
      ? options.credentials
      : options.credentials
        ? async () => options.credentials as AwsCredentialIdentity
        : fromNodeProviderChain(),
    isIdentityExpired,
    doesIdentityRequireRefresh,
  ) as AwsCredentialIdentityProvider;

  const provider = createInfraProvider({
    kind: 'aws',
    logger: options.logger,
    ...(options.idleMs ? { idleMs: options.idleMs } : {}),
    build: (session) => {
      const { target } = session;
      const credentials = target.roleArn ? assumedRoleCredentials(session, base, options) : base;
      const templateBucket = templateBucketFor(options.templateBucket, target);
      const ctx = createAwsContext({
        ...options,
        region: target.region,
        credentials,
        templateBucket,
        accountId: target.account,
      });
      return {
        port: portOf(ctx),
        identify: async () => {
          try {
            const caller = await ctx.clients.sts.send(new GetCallerIdentityCommand({}));
            return { account: caller.Account ?? '', arn: caller.Arn ?? '' };
          } catch (err) {
            throw identityError(err);
          }
        },
        templateUrl: (key) => templateUrl(options.endpoint, target.region, templateBucket, key),
      };
    },
  });
  return Object.assign(provider, {
    /** The cluster's event queue, read with its deployer role (in a session of its own) in its region. */
    eventQueue(setting: EventQueueSetting | null): EventQueue {
      if (!setting) throw new Error('an AWS event queue needs the URL its cluster names');
      const session: ClusterSession = { target: setting.target, deploymentId: 'events', sessionName: EVENTS_SESSION_NAME };
      const credentials = setting.target.roleArn ? assumedRoleCredentials(session, base, options) : base;
      return createSqsEventQueue({
        setting,
        credentials,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.eventWaitSeconds !== undefined ? { waitSeconds: options.eventWaitSeconds } : {}),
        ...(options.onCall ? { onCall: options.onCall } : {}),
      });
    },
  });
}

/** The deployer role's session for one deployment: assumed on first use, shared by the port's clients, renewed before it expires. */
export function assumedRoleCredentials(
  session: ClusterSession,
  base: AwsCredentialIdentityProvider,
  options: { endpoint?: string; maxAttempts?: number; sessionSeconds?: number; onCall?: AwsCallListener },
): AwsCredentialIdentityProvider {
  const { target } = session;
  const assume = fromTemporaryCredentials({
    masterCredentials: base,
    params: { RoleArn: target.roleArn!, RoleSessionName: session.sessionName!, DurationSeconds: options.sessionSeconds ?? 3600 },
    clientConfig: {
      region: target.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    },
  });
  // AssumeRole runs on the provider's own STS client, which has no call counter: count it here.
  const counted: AwsCredentialIdentityProvider = async (properties) => {
    const record = (outcome: ReturnType<typeof outcomeOf> | 'ok') =>
      options.onCall?.({ service: 'STS', operation: 'AssumeRole', region: target.region, outcome });
    try {
      const credentials = await assume(properties);
      record('ok');
      return credentials;
    } catch (err) {
      record(outcomeOf(err));
      throw err;
    }
  };
  return memoizeIdentityProvider(counted, isIdentityExpired, doesIdentityRequireRefresh) as AwsCredentialIdentityProvider;
}

/**
 * Why GetCallerIdentity failed, and whether asking again could help: throttling, 5xx and network
 * faults could; AccessDenied on AssumeRole, unknown keys or no credentials at all could not.
 */
function identityError(err: unknown): InfraError {
  // toInfraError counts network faults as retryable, as every other call does.
  return toInfraError(err);
}
