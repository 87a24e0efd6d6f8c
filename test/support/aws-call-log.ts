/**
 * The simulated cloud, with the AWS calls it answers recorded per deployment, in order, under their
 * AWS names, as the simulator counts them (server/infra/simulated/index.ts `onAwsCall`): a test
 * pins what a plan costs in AWS calls. Each port belongs to one deployment (InfraProvider
 * `forCluster`), so its calls run in that deployment's async context and the count hears whose.
 *
 *   const log = awsCallLog();
 *   const t = await startTestDeployer({ infra: log.infra });
 *   log.of(deploymentId) // ['S3.PutObject', 'CloudFormation.DescribeStacks', ...]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import postgres from 'postgres';
import type { Config } from '../../server/config.ts';
import type { ClusterInfra, InfraProvider } from '../../server/infra/port.ts';
import { addFault, type FaultRequest } from '../../server/infra/simulated/index.ts';
import { createSimulatedInfraProvider } from '../../server/infra/simulated/provider.ts';

export interface AwsCallLog {
  /** For `startTestDeployer({ infra })`. */
  infra(deps: { config: Config }): InfraProvider;
  /** The AWS calls made for a deployment so far, as `Service.Operation`. */
  of(deploymentId: string): string[];
  /** Injects a fault into this simulated cloud (the deployer's /v1/simulator routes serve only the cloud it made itself). */
  addFault(request: FaultRequest): Promise<unknown>;
}

export function awsCallLog(): AwsCallLog {
  const calls = new Map<string, string[]>();
  const caller = new AsyncLocalStorage<string>();
  let sql: postgres.Sql | undefined;
  return {
    infra({ config }) {
      // A pool of its own, as createInfra gives the simulator.
      sql = postgres(config.databaseUrl!, { max: 5, onnotice: () => {} });
      const provider = createSimulatedInfraProvider({
        sql,
        latencyMs: config.simulator.latencyMs,
        onAwsCall: ({ service, operation }) => {
          const deploymentId = caller.getStore();
          if (deploymentId) calls.set(deploymentId, [...(calls.get(deploymentId) ?? []), `${service}.${operation}`]);
        },
      });
      const forCluster = provider.forCluster.bind(provider);
      const close = provider.close.bind(provider);
      return Object.assign(provider, {
        forCluster(target, deploymentId) {
          const port = forCluster(target, deploymentId);
          const traced: Record<string, unknown> = {};
          for (const [name, value] of Object.entries(port)) {
            traced[name] = typeof value === 'function' ? (...args: unknown[]) => caller.run(deploymentId, () => value.apply(port, args)) : value;
          }
          return traced as unknown as ClusterInfra;
        },
        close: async () => {
          await close();
          await sql!.end({ timeout: 5 });
        },
      } satisfies Partial<InfraProvider>);
    },
    of: (deploymentId) => [...(calls.get(deploymentId) ?? [])],
    addFault: (request) => addFault(sql!, request),
  };
}
