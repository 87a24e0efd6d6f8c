/**
 * The simulated infra of many clusters: the same per-deployment ports as on AWS
 * (server/infra/cluster-provider.ts), so the same code path runs, with the cluster's region and
 * account in every ARN made up. There are no credentials; the identity is what AWS would answer:
 * the account of the deployer role's ARN (the deployer's own made-up account without a role), so a
 * cluster whose `awsAccount` does not match its role fails here as it would on AWS.
 */
import type { Logger } from '../../logger.ts';
import { createInfraProvider, type CachingInfraProvider } from '../cluster-provider.ts';
import { InfraError } from '../port.ts';
import { announceOperationEnds } from './event-replay.ts';
import { SimulatedEvents } from './events.ts';
import { simulatorDb } from './store.ts';
import { createSimulatedInfra, type AwsCallCounts, type SimulatedInfraOptions } from './index.ts';
import { ACCOUNT_ID } from './template.ts';
import { templateUrl } from './template-storage.ts';

const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/;

export function createSimulatedInfraProvider(
  options: Omit<SimulatedInfraOptions, 'region' | 'account' | 'awsCalls' | 'events'> & { logger?: Logger },
): CachingInfraProvider & { awsCalls: AwsCallCounts; events: SimulatedEvents } {
  // One count for every cluster's port: the simulated cloud answers them all.
  const awsCalls: AwsCallCounts = { reads: 0, writes: 0 };
  // One queue of events for every cluster, as if each account's EventBridge sent to it.
  const events = new SimulatedEvents();
  const provider = createInfraProvider({
    kind: 'simulated',
    logger: options.logger,
    build: ({ target, sessionName }) => ({
      port: createSimulatedInfra({ ...options, region: target.region, account: target.account, awsCalls, events }),
      identify: async () => {
        if (!target.roleArn) return { account: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/deployer` };
        const role = ROLE_ARN.exec(target.roleArn);
        if (!role) throw new InfraError('ValidationError', `${target.roleArn} is not a role ARN`);
        return { account: role[1]!, arn: `arn:aws:sts::${role[1]}:assumed-role/${role[2]}/${sessionName}` };
      },
      templateUrl: (key) => templateUrl(target.region, key),
    }),
  });
  const close = provider.close.bind(provider);
  let announced: Promise<unknown> | undefined;
  return Object.assign(provider, {
    awsCalls,
    events,
    eventQueue: () => {
      // Ends that a previous process of this deployer had scheduled died with it: announce them again.
      announced ??= announceOperationEnds(simulatorDb(options.sql), events, Date.now()).catch((err) =>
        options.logger?.warn({ err }, 'simulated cloud: could not announce the ends of running operations again'),
      );
      return events;
    },
    close: async () => {
      await events.close();
      await close();
    },
  });
}
